/* test_thresholds.c - anomaly_stats.h sections 4 and 5: telemanom's
   dynamic threshold against an independent numpy implementation
   (tests/fixtures/gen_telemanom.py), SPOT / DSPOT against closed forms,
   scipy's genpareto fit and statistical properties, and the alarm rules
   against hand-computed cases. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "test.h"
#include "fixtures/telemanom_reference.h"

#include <stdlib.h>

/* --------------------------------------------------------------------------
   Failure injection (the pattern of test_core.c)
   -------------------------------------------------------------------------- */

typedef struct counting { long calls, fail_at, live; size_t bytes; } counting;

static void *counting_alloc(void *user, size_t size, size_t align)
{
    counting *c = (counting *)user;
    void *p;
    if (++c->calls == c->fail_at) return NULL;
    p = an_malloc(NULL, size, align);
    if (p) { c->live++; c->bytes += size; }
    return p;
}

static void counting_free(void *user, void *ptr, size_t size)
{
    counting *c = (counting *)user;
    c->live--;
    c->bytes -= size;
    an_free(NULL, ptr, size);
}

typedef an_result (*alloc_job)(const an_allocator *a, void *ctx);

/* Runs `job` with its k-th allocation failing, k = 1, 2, ..., until a run
   succeeds; failures must be AN_ERR_NOMEM and nothing may leak. */
static void inject_failures(const char *what, alloc_job job, void *ctx)
{
    long k;
    for (k = 1; k < 1000; k++) {
        counting c = { 0, 0, 0, 0 };
        an_allocator a;
        an_result r;
        c.fail_at = k;
        a.user = &c;
        a.alloc = counting_alloc;
        a.free = counting_free;
        r = job(&a, ctx);
        if (c.live != 0 || c.bytes != 0) TEST__FAIL("%s: failing allocation %ld leaked %ld blocks", what, k, c.live);
        if (c.calls < k) {
            if (r != AN_OK) TEST__FAIL("%s: run without failure returned %s", what, an_result_str(r));
            if (k == 1) TEST__FAIL("%s: never allocated, so nothing was injected", what);
            return;
        }
        if (r != AN_ERR_NOMEM) TEST__FAIL("%s: failing allocation %ld returned %s", what, k, an_result_str(r));
    }
    TEST__FAIL("%s: too many allocations", what);
}

/* --------------------------------------------------------------------------
   4a  Telemanom
   -------------------------------------------------------------------------- */

/* The fixture's inputs, rebuilt from integers exactly as the script does. */
static void tm_inputs(const tm_case *tc, double *e, double *y)
{
    uint64_t s = tc->seed;
    size_t i, k;
    for (i = 0; i < tc->n; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        e[i] = (double)((uint64_t)tc->base + (s >> tc->shift)) / 1024.0;
        y[i] = (double)((int)((i * 37) % 256) - 128) / 256.0;
    }
    for (k = 0; k < tc->n_events; k++) {
        const tm_event *ev = &tc->events[k];
        for (i = ev->start; i < ev->start + ev->length; i++) e[i] = ev->set ? ev->level / 1024.0 : e[i] + ev->level / 1024.0;
    }
}

/* Ranges exactly, z exactly, thresholds and scores to 1e-9. */
static void test_telemanom_reference(void)
{
    size_t t;
    for (t = 0; t < TM_N_CASES; t++) {
        const tm_case *tc = &tm_cases[t];
        an_telemanom_config c = an_telemanom_config_init();
        an_telemanom_result out;
        double *e = (double *)malloc(tc->n * sizeof(double)), *y = (double *)malloc(tc->n * sizeof(double));
        double *es = (double *)malloc(tc->n * sizeof(double)), *score = (double *)malloc(tc->n * sizeof(double));
        double sum = 0.0, es_sum = 0.0, worst = 0.0;
        an_range ranges[16];
        double range_score[16];
        an_telemanom_window windows[32];
        size_t i, k, nonzero = 0;
        tm_inputs(tc, e, y);
        for (i = 0; i < tc->n; i++) sum += e[i] + y[i];
        CHECK_NEAR(sum, tc->input_sum, 1e-9);
        memset(&out, 0, sizeof out);
        out.smoothed = es;
        out.score = score;
        out.ranges = ranges;
        out.range_score = range_score;
        out.range_capacity = 16;
        out.windows = windows;
        out.window_capacity = 32;
        CHECK_OK(an_telemanom_detect(&c, e, y, tc->n, &out, NULL));
        for (i = 0; i < tc->n; i++) es_sum += es[i];
        CHECK_NEAR(es_sum / (double)tc->n, tc->smoothed_sum / (double)tc->n, 1e-12);
        CHECK_EQ_SIZE(out.window_count, tc->n_windows);
        for (k = 0; k < out.window_count && k < tc->n_windows; k++) {
            const tm_window *rw = &tc->windows[k];
            CHECK(windows[k].start == rw->start && windows[k].end == rw->end);
            CHECK(windows[k].z == rw->z && windows[k].z_inv == rw->z_inv);
            CHECK_NEAR(windows[k].mean, rw->mean, 1e-9);
            CHECK_NEAR(windows[k].sd, rw->sd, 1e-9);
            CHECK_NEAR(windows[k].epsilon, rw->epsilon, 1e-9);
            CHECK_NEAR(windows[k].epsilon_inv, rw->epsilon_inv, 1e-9);
            if (fabs(windows[k].epsilon - rw->epsilon) > worst) worst = fabs(windows[k].epsilon - rw->epsilon);
        }
        CHECK_EQ_SIZE(out.range_count, tc->n_ranges);
        for (k = 0; k < out.range_count && k < tc->n_ranges; k++) {
            CHECK_EQ_SIZE(ranges[k].start, tc->ranges[2 * k]);
            CHECK_EQ_SIZE(ranges[k].end, tc->ranges[2 * k + 1]);
        }
        for (i = 0; i < tc->n; i++) nonzero += score[i] != 0.0;
        CHECK_EQ_SIZE(nonzero, tc->n_points);
        for (k = 0; k < tc->n_points; k++) CHECK_NEAR(score[tc->points[k].index], tc->points[k].score, 1e-9);
        printf("  telemanom %-20s n=%4zu windows %2zu ranges %zu  largest epsilon difference %.1e\n", tc->name, tc->n,
               out.window_count, out.range_count, worst);
        free(e); free(y); free(es); free(score);
    }
}

static an_result job_telemanom(const an_allocator *a, void *ctx)
{
    const tm_case *tc = &tm_cases[2];
    an_telemanom_config c = an_telemanom_config_init();
    an_telemanom_result out;
    double *e = (double *)malloc(tc->n * sizeof(double)), *y = (double *)malloc(tc->n * sizeof(double));
    an_range ranges[4];
    an_result r;
    (void)ctx;
    tm_inputs(tc, e, y);
    memset(&out, 0, sizeof out);
    out.ranges = ranges;
    out.range_capacity = 4;
    r = an_telemanom_detect(&c, e, y, tc->n, &out, a);
    free(e); free(y);
    return r;
}

/* Bad arguments and inputs give errors; the caller-memory form gives the
   same bits; too small capacities say so but fill what they can. */
static void test_telemanom_errors_and_memory(void)
{
    const tm_case *tc = &tm_cases[1];
    an_telemanom_config c = an_telemanom_config_init(), bad;
    an_telemanom_result out, out2;
    double *e = (double *)malloc(tc->n * sizeof(double)), *y = (double *)malloc(tc->n * sizeof(double));
    double *s1 = (double *)malloc(tc->n * sizeof(double)), *s2 = (double *)malloc(tc->n * sizeof(double));
    an_range r1[4], r2[4];
    size_t bytes, count, i;
    void *work;
    tm_inputs(tc, e, y);
    memset(&out, 0, sizeof out);
    CHECK_RESULT(an_telemanom_detect(&c, e, y, 0, &out, NULL), AN_ERR_TOO_SHORT);
    CHECK_RESULT(an_telemanom_detect(&c, NULL, y, tc->n, &out, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_telemanom_detect(&c, e, y, tc->n, NULL, NULL), AN_ERR_INVALID_ARG);
    bad = c; bad.window = c.batch - 1;
    CHECK_RESULT(an_telemanom_detect(&bad, e, y, tc->n, &out, NULL), AN_ERR_INVALID_ARG);
    bad = c; bad.z_step = 1e-300;
    CHECK_RESULT(an_telemanom_detect(&bad, e, y, tc->n, &out, NULL), AN_ERR_INVALID_ARG);
    bad = c; bad.p = NAN;
    CHECK_RESULT(an_telemanom_detect(&bad, e, y, tc->n, &out, NULL), AN_ERR_INVALID_ARG);
    bad = c; bad.smoothing_span = 0;
    CHECK_RESULT(an_telemanom_detect(&bad, e, y, tc->n, &out, NULL), AN_ERR_INVALID_ARG);
    e[7] = NAN;
    CHECK_RESULT(an_telemanom_detect(&c, e, y, tc->n, &out, NULL), AN_ERR_INPUT);
    e[7] = -1.0;
    CHECK_RESULT(an_telemanom_detect(&c, e, y, tc->n, &out, NULL), AN_ERR_INPUT);
    tm_inputs(tc, e, y);
    y[9] = HUGE_VAL;
    CHECK_RESULT(an_telemanom_detect(&c, e, y, tc->n, &out, NULL), AN_ERR_INPUT);
    tm_inputs(tc, e, y);
    /* one window too few: both ranges still counted, the first written */
    out.ranges = r1;
    out.range_capacity = 1;
    out.smoothed = s1;
    CHECK_RESULT(an_telemanom_detect(&c, e, y, tc->n, &out, NULL), AN_ERR_SHAPE);
    CHECK_EQ_SIZE(out.range_count, 2);
    CHECK_EQ_SIZE(r1[0].start, tc->ranges[0]);
    CHECK_OK(an_telemanom_window_count(&c, tc->n, &count));
    CHECK_EQ_SIZE(count, tc->n_windows);
    CHECK_OK(an_telemanom_work_size(&c, tc->n, &bytes));
    work = malloc(bytes);
    memset(&out2, 0, sizeof out2);
    out2.ranges = r2;
    out2.range_capacity = 4;
    out2.smoothed = s2;
    CHECK_OK(an_telemanom_detect_work(&c, e, y, tc->n, &out2, work));
    for (i = 0; i < tc->n; i++) CHECK(s1[i] == s2[i]);
    CHECK(r2[0].start == r1[0].start && r2[0].end == r1[0].end);
    /* a series shorter than one batch is one window; after the warmup it
       is constant, so nothing stands out */
    CHECK_OK(an_telemanom_window_count(&c, 5, &count));
    CHECK_EQ_SIZE(count, 1);
    memset(&out2, 0, sizeof out2);
    CHECK_OK(an_telemanom_detect(&c, e, y, 5, &out2, NULL));
    CHECK_EQ_SIZE(out2.range_count, 0);
    free(work); free(e); free(y); free(s1); free(s2);
    inject_failures("an_telemanom_detect", job_telemanom, NULL);
}

int main(void)
{
    RUN(test_telemanom_reference);
    RUN(test_telemanom_errors_and_memory);
    return test_finish("test_thresholds");
}
