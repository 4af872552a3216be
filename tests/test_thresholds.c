/* test_thresholds.c - anomaly_stats.h sections 4 and 5: telemanom's
   dynamic threshold against an independent numpy implementation
   (tests/fixtures/gen_telemanom.py), SPOT / DSPOT against closed forms,
   scipy's genpareto fit and statistical properties, and the alarm rules
   against hand-computed cases. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "test.h"
#include "fixtures/telemanom_reference.h"
#include "fixtures/gpd_scipy.h"

#include <float.h>
#include <stdlib.h>

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

/* Ranges exactly, z exactly, thresholds and scores to 1e-9; telemanom's
   defaults, and one case with every length changed. */
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
        an_event ranges[16];
        an_telemanom_window windows[32];
        size_t i, k, nonzero = 0;
        c.batch = tc->config.batch;
        c.window = tc->config.window;
        c.smoothing_span = tc->config.span;
        c.error_buffer = tc->config.buffer;
        c.warmup = tc->config.warmup;
        c.p = tc->config.p;
        tm_inputs(tc, e, y);
        for (i = 0; i < tc->n; i++) sum += e[i] + y[i];
        CHECK_NEAR(sum, tc->input_sum, 1e-9);
        memset(&out, 0, sizeof out);
        out.smoothed = es;
        out.score = score;
        out.events = ranges;
        out.event_capacity = 16;
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
        CHECK_EQ_SIZE(out.event_count, tc->n_ranges);
        for (k = 0; k < out.event_count && k < tc->n_ranges; k++) {
            CHECK_EQ_SIZE(ranges[k].start, tc->ranges[2 * k]);
            CHECK_EQ_SIZE(ranges[k].end, tc->ranges[2 * k + 1]);
            CHECK(ranges[k].peak >= ranges[k].start && ranges[k].peak <= ranges[k].end);   /* an event: */
            CHECK(ranges[k].severity == score[ranges[k].peak] && ranges[k].severity > 0.0);  /* its top */
            CHECK_EQ_SIZE(ranges[k].points, ranges[k].end - ranges[k].start + 1);
        }
        for (i = 0; i < tc->n; i++) nonzero += score[i] != 0.0;
        CHECK_EQ_SIZE(nonzero, tc->n_points);
        for (k = 0; k < tc->n_points; k++) CHECK_NEAR(score[tc->points[k].index], tc->points[k].score, 1e-9);
        printf("  telemanom %-20s n=%4zu windows %2zu ranges %zu  largest epsilon difference %.1e\n", tc->name, tc->n,
               out.window_count, out.event_count, worst);
        free(e); free(y); free(es); free(score);
    }
}

static an_result job_telemanom(const an_allocator *a, void *ctx)
{
    const tm_case *tc = &tm_cases[2];
    an_telemanom_config c = an_telemanom_config_init();
    an_telemanom_result out;
    double *e = (double *)malloc(tc->n * sizeof(double)), *y = (double *)malloc(tc->n * sizeof(double));
    an_event ranges[4];
    an_result r;
    (void)ctx;
    tm_inputs(tc, e, y);
    memset(&out, 0, sizeof out);
    out.events = ranges;
    out.event_capacity = 4;
    r = an_telemanom_detect(&c, e, y, tc->n, &out, a);
    free(e); free(y);
    return r;
}

/* The float entry points (errors and calibration data as detectors emit
   them) give exactly what the double forms give on the same values. */
static void test_float_entry_points(void)
{
    const tm_case *tc = &tm_cases[1];
    an_telemanom_config c = an_telemanom_config_init();
    an_telemanom_result o1, o2;
    double *e = (double *)malloc(tc->n * sizeof(double)), *y = (double *)malloc(tc->n * sizeof(double));
    double *s1 = (double *)malloc(tc->n * sizeof(double)), *s2 = (double *)malloc(tc->n * sizeof(double));
    float *ef = (float *)malloc(tc->n * sizeof(float)), *yf = (float *)malloc(tc->n * sizeof(float));
    an_event r1[16], r2[16];
    an_spot a, b;
    an_spot_config sc = an_spot_config_init(1e-3, 0.98);
    an_rng rng;
    size_t i;
    tm_inputs(tc, e, y);
    for (i = 0; i < tc->n; i++) { e[i] = ef[i] = (float)e[i]; y[i] = yf[i] = (float)y[i]; }
    memset(&o1, 0, sizeof o1);
    o1.score = s1; o1.events = r1; o1.event_capacity = 16;
    o2 = o1;
    o2.score = s2; o2.events = r2;
    CHECK_OK(an_telemanom_detect(&c, e, y, tc->n, &o1, NULL));
    CHECK_OK(an_telemanom_detect_f(&c, ef, yf, tc->n, &o2, NULL));
    CHECK(o1.event_count == o2.event_count && o1.event_count > 0);
    CHECK(memcmp(s1, s2, tc->n * sizeof(double)) == 0);
    CHECK(memcmp(r1, r2, o1.event_count * sizeof(an_event)) == 0);
    CHECK_RESULT(an_telemanom_detect_f(&c, NULL, yf, tc->n, &o2, NULL), AN_ERR_INVALID_ARG);
    an_rng_seed(&rng, 3, 3);
    for (i = 0; i < tc->n; i++) e[i] = ef[i] = (float)an_rng_normal(&rng);
    CHECK_OK(an_spot_init(&a, &sc, NULL));
    CHECK_OK(an_spot_init(&b, &sc, NULL));
    CHECK_OK(an_spot_fit(&a, e, tc->n, NULL));
    CHECK_OK(an_spot_fit_f(&b, ef, tc->n, NULL));
    CHECK(an_spot_threshold(&a) == an_spot_threshold(&b) && a.gamma == b.gamma && a.sigma == b.sigma);
    ef[7] = (float)HUGE_VAL;
    CHECK_RESULT(an_spot_fit_f(&b, ef, tc->n, NULL), AN_ERR_INPUT);
    an_spot_uninit(&a);
    an_spot_uninit(&b);
    free(e); free(y); free(s1); free(s2); free(ef); free(yf);
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
    an_event r1[4], r2[4];
    size_t bytes, count, i, work_bytes;
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
    e[7] = DBL_MAX;
    e[8] = DBL_MAX;
    CHECK_RESULT(an_telemanom_detect(&c, e, y, tc->n, &out, NULL), AN_ERR_NUMERIC);
    tm_inputs(tc, e, y);
    y[9] = HUGE_VAL;
    CHECK_RESULT(an_telemanom_detect(&c, e, y, tc->n, &out, NULL), AN_ERR_INPUT);
    tm_inputs(tc, e, y);
    /* one window too few: both ranges still counted, the first written */
    out.events = r1;
    out.event_capacity = 1;
    out.smoothed = s1;
    CHECK_RESULT(an_telemanom_detect(&c, e, y, tc->n, &out, NULL), AN_ERR_SHAPE);
    CHECK_EQ_SIZE(out.event_count, 2);
    CHECK_EQ_SIZE(r1[0].start, tc->ranges[0]);
    CHECK_OK(an_telemanom_window_count(&c, tc->n, &count));
    CHECK_EQ_SIZE(count, tc->n_windows);
    CHECK_OK(an_telemanom_work_size(&c, tc->n, &bytes));
    work = an_malloc(NULL, work_bytes = bytes, AN_ALIGN);
    memset(&out2, 0, sizeof out2);
    out2.events = r2;
    out2.event_capacity = 4;
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
    CHECK_EQ_SIZE(out2.event_count, 0);
    an_free(NULL, work, work_bytes); free(e); free(y); free(s1); free(s2);
    inject_failures("an_telemanom_detect", job_telemanom, NULL);
}

/* Small random configurations and series (zeros, constants, spikes): no
   failure, ranges in order inside the series, scores positive exactly
   on the ranges' points, the work form equal to the allocating one. */
static void test_telemanom_random_configs(void)
{
    an_rng rng;
    size_t trial, bad = 0;
    double e[300], y[300], sc[300], sc2[300];
    an_event rg[160], rg2[160];
    for (an_rng_seed(&rng, 17, 2), trial = 0; trial < 300; trial++) {
        an_telemanom_config c = an_telemanom_config_init();
        an_telemanom_result out, out2;
        size_t n = 1 + (size_t)an_rng_below(&rng, 300), i, k, bytes, kind = (size_t)an_rng_below(&rng, 4);
        void *work;
        c.batch = 1 + (size_t)an_rng_below(&rng, 20);
        c.window = c.batch + (size_t)an_rng_below(&rng, 60);
        c.smoothing_span = 1 + (size_t)an_rng_below(&rng, 30);
        c.error_buffer = (size_t)an_rng_below(&rng, 12);
        c.warmup = (size_t)an_rng_below(&rng, 20);
        c.short_series = (size_t)an_rng_below(&rng, 300);
        c.long_series = c.short_series + (size_t)an_rng_below(&rng, 100);
        for (i = 0; i < n; i++) {
            e[i] = kind == 0 ? 0.0 : kind == 1 ? 0.3 : an_rng_uniform(&rng) * (kind == 3 && i % 50 == 7 ? 40.0 : 1.0);
            y[i] = kind == 2 ? 1.0 : an_rng_normal(&rng);
        }
        memset(&out, 0, sizeof out);
        out.score = sc;
        out.events = rg;
        out.event_capacity = 160;
        if (an_telemanom_detect(&c, e, y, n, &out, NULL) != AN_OK) { bad++; continue; }
        for (k = 0; k < out.event_count; k++)
            if (!(rg[k].start < rg[k].end && rg[k].end < n && (k == 0 || rg[k].start > rg[k - 1].end + 1))) bad++;
        for (i = 0, k = 0; i < n; i++) {
            int inside;
            while (k < out.event_count && rg[k].end < i) k++;
            inside = k < out.event_count && rg[k].start <= i;
            if (inside != (sc[i] > 0.0) || !an__finite(sc[i])) bad++;
        }
        CHECK_OK(an_telemanom_work_size(&c, n, &bytes));
        work = an_malloc(NULL, bytes, AN_ALIGN);
        CHECK_RESULT(an_telemanom_detect_work(&c, e, y, n, &out2, (char *)work + 8), AN_ERR_INVALID_ARG);
        out2 = out;
        out2.score = sc2;
        out2.events = rg2;
        CHECK_OK(an_telemanom_detect_work(&c, e, y, n, &out2, work));
        if (memcmp(sc, sc2, n * sizeof(double)) != 0 || out2.event_count != out.event_count) bad++;
        an_free(NULL, work, bytes);
    }
    CHECK_EQ_SIZE(bad, 0);
}

/* --------------------------------------------------------------------------
   4b  SPOT / DSPOT
   -------------------------------------------------------------------------- */

/* Exponential(scale) draws: -scale log(1 - u). */
static void exp_draws(an_rng *rng, double scale, double *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) x[i] = -scale * log1p(-an_rng_uniform(rng));
}

/* scipy's genpareto.fit(floc=0): our likelihood is at least scipy's, and
   the parameters agree with the polished optimum to 1e-6. */
static void test_gpd_against_scipy(void)
{
    size_t k;
    for (k = 0; k < GPD_N_CASES; k++) {
        const gpd_case *gc = &gpd_cases[k];
        double g, s, ll;
        CHECK_OK(an_gpd_fit(gc->y, gc->n, &g, &s));
        ll = an_gpd_log_likelihood(gc->y, gc->n, g, s);
        CHECK(ll >= gc->scipy_ll - 1e-12 * fabs(gc->scipy_ll));
        CHECK(ll >= gc->ll - 1e-9 * fabs(gc->ll));
        CHECK_NEAR(an_gpd_log_likelihood(gc->y, gc->n, gc->gamma, gc->sigma), gc->ll, 1e-9 * fabs(gc->ll));
        CHECK_NEAR(g, gc->gamma, 1e-6);
        CHECK_NEAR(s / gc->sigma, 1.0, 1e-6);
        printf("  gpd %-20s n=%3zu gamma %+.9f sigma %.9f  (scipy %+.6f %.6f, loglik +%.2e)\n", gc->name, gc->n, g, s,
               gc->scipy_gamma, gc->scipy_sigma, ll - gc->scipy_ll);
    }
}

/* Excesses of exponential data are exponential: gamma 0, sigma the scale.
   With 20000 draws the standard errors are 0.007 (gamma) and 0.7%
   (sigma); the tolerances are about four of them. */
static void test_gpd_exponential(void)
{
    an_rng rng;
    double *y = (double *)malloc(20000 * sizeof(double)), g, s;
    an_rng_seed(&rng, 42, 1);
    exp_draws(&rng, 2.0, y, 20000);
    CHECK_OK(an_gpd_fit(y, 20000, &g, &s));
    CHECK_NEAR(g, 0.0, 0.03);
    CHECK_NEAR(s, 2.0, 0.06);
    printf("  gpd of 20000 exponential(2) draws: gamma %+.4f sigma %.4f\n", g, s);
    /* a few peaks, all equal, a single one: finite answers */
    y[0] = y[1] = y[2] = 1.5;
    CHECK_OK(an_gpd_fit(y, 3, &g, &s));
    CHECK(an__finite(g) && an__finite(s) && s > 0.0 && g > -1.0);
    CHECK_OK(an_gpd_fit(y, 1, &g, &s));
    CHECK(an__finite(g) && s > 0.0);
    y[1] = 0.0;
    CHECK_RESULT(an_gpd_fit(y, 3, &g, &s), AN_ERR_INPUT);
    y[1] = NAN;
    CHECK_RESULT(an_gpd_fit(y, 3, &g, &s), AN_ERR_INPUT);
    CHECK_RESULT(an_gpd_fit(y, 0, &g, &s), AN_ERR_INVALID_ARG);
    free(y);
}

/* z_q by hand, and continuous as gamma -> 0. */
static void test_gpd_threshold_formula(void)
{
    /* q n / N_t = 1e-3 * 1000 / 10 = 0.1 */
    CHECK_NEAR(an_gpd_threshold(5.0, 0.0, 2.0, 1e-3, 1000, 10), 5.0 + 2.0 * log(10.0), 1e-12);
    CHECK_NEAR(an_gpd_threshold(5.0, 0.5, 2.0, 1e-3, 1000, 10), 5.0 + 4.0 * (sqrt(10.0) - 1.0), 1e-12);
    CHECK_NEAR(an_gpd_threshold(5.0, -0.5, 2.0, 1e-3, 1000, 10), 5.0 - 4.0 * (sqrt(0.1) - 1.0), 1e-12);
    CHECK_NEAR(an_gpd_threshold(5.0, 1e-12, 2.0, 1e-3, 1000, 10), an_gpd_threshold(5.0, 0.0, 2.0, 1e-3, 1000, 10), 1e-10);
}

/* SPOT on exponential(2) data: z_q near the true quantile -2 log q. */
static void test_spot_quantile(void)
{
    an_spot sp;
    an_spot_config c = an_spot_config_init(1e-4, 0.98);
    an_rng rng;
    size_t n = 50000;
    double *x = (double *)malloc(n * sizeof(double)), truth = -2.0 * log(1e-4);
    an_rng_seed(&rng, 7, 3);
    exp_draws(&rng, 2.0, x, n);
    CHECK_OK(an_spot_init(&sp, &c, NULL));
    CHECK_OK(an_spot_fit(&sp, x, n, NULL));
    CHECK(sp.z > sp.t);
    CHECK_NEAR(sp.t, -2.0 * log(0.02), 0.1);      /* the 98% quantile */
    CHECK_NEAR(sp.z / truth, 1.0, 0.05);
    CHECK_EQ_SIZE(sp.n_peaks, 1000);
    printf("  spot on 50000 exponential(2) points: t %.4f (true %.4f), z_q %.4f (true %.4f)\n", sp.t,
           -2.0 * log(0.02), sp.z, truth);
    an_spot_uninit(&sp);
    free(x);
}

/* iid exponential(1) data.  The calibrated z_q is exceeded by fresh data
   at a rate near q: 200 of 200000 expected (Poisson sd 14), plus the
   error of a fit on 1000 peaks; the tolerance is 0.7 q .. 1.4 q.
   Streaming then runs at a higher rate: alarms are not learnt, so the
   excesses the fit sees are cut at z_q - t (here 5% of the peaks), the fit
   turns lighter-tailed and z_q falls (SPOT's design, not a defect of the
   fit); it must stay within 0.5 q .. 2.5 q, z_q above t, and alarms
   must not count in n. */
static void test_spot_alarm_rate(void)
{
    an_spot sp;
    an_spot_config c = an_spot_config_init(1e-3, 0.98);
    an_rng rng;
    size_t n_cal = 50000, n_fresh = 200000, n = 50000, i, above = 0, alarms = 0, peaks = 0, ordered = 1;
    double *x = (double *)malloc((n_cal + n_fresh) * sizeof(double)), rate, stream_rate;
    an_rng_seed(&rng, 11, 5);
    exp_draws(&rng, 1.0, x, n_cal + n_fresh);
    CHECK_OK(an_spot_init(&sp, &c, NULL));
    CHECK_OK(an_spot_fit(&sp, x, n_cal, NULL));
    for (i = n_cal; i < n_cal + n_fresh; i++) above += x[i] > sp.z;
    rate = (double)above / (double)n_fresh;
    CHECK(rate > 0.7e-3 && rate < 1.4e-3);
    for (i = n_cal; i < n_cal + n; i++) {
        an_spot_verdict v;
        size_t before = sp.n;
        CHECK_OK(an_spot_push(&sp, x[i], &v));
        alarms += v == AN_SPOT_ALARM;
        peaks += v == AN_SPOT_PEAK;
        if ((v == AN_SPOT_ALARM) == (sp.n != before)) ordered = 0;
        if (!(sp.z > sp.t)) ordered = 0;
    }
    stream_rate = (double)alarms / (double)n;
    printf("  spot, exponential(1), q = 1e-3: calibrated z_q exceeded at %.5f; streaming alarm rate %.5f "
           "(%zu peaks, z_q %.3f, true %.3f)\n", rate, stream_rate, peaks, sp.z, -log(1e-3));
    CHECK(stream_rate > 0.5e-3 && stream_rate < 2.5e-3);
    CHECK(ordered);
    CHECK_EQ_SIZE(sp.n, n_cal + n - alarms);
    CHECK_EQ_SIZE(sp.n_peaks, sp.peak_count);
    an_spot_uninit(&sp);
    /* a full ring forgets the oldest excesses */
    c.max_peaks = 100;
    CHECK_OK(an_spot_init(&sp, &c, NULL));
    CHECK_OK(an_spot_fit(&sp, x, n_cal, NULL));
    CHECK(sp.peak_count == 100 && sp.n_peaks == 1000);
    an_spot_uninit(&sp);
    free(x);
}

/* DSPOT judges x - (mean of the last d points): adding a constant changes
   nothing; a linear drift c i shifts every judged value by c (d + 1) / 2,
   so the verdicts stay and t and z_q move by that much, until the first
   alarm: an alarm stays out of the window, whose points are then no
   longer evenly spaced in time. */
static void test_dspot_drift(void)
{
    an_spot a, b, l;
    an_spot_config c = an_spot_config_init(0.005, 0.95);
    an_rng rng;
    size_t n_cal = 3000, n = 6000, i, same = 1, alarms = 0, first_alarm = 0;
    double *x = (double *)malloc((n_cal + n) * sizeof(double)), *xb = (double *)malloc((n_cal + n) * sizeof(double));
    double *xl = (double *)malloc((n_cal + n) * sizeof(double)), slope = 0.125, shift;
    c.depth = 16;
    c.max_peaks = 300;
    an_rng_seed(&rng, 3, 9);
    for (i = 0; i < n_cal + n; i++) {
        /* multiples of 1/1024, so window sums are exact */
        x[i] = floor(1024.0 * -log1p(-an_rng_uniform(&rng))) / 1024.0 + (i % 997 == 500 ? 12.0 : 0.0);
        xb[i] = x[i] + 1000.0;
        xl[i] = x[i] + slope * (double)i;
    }
    shift = slope * (double)(c.depth + 1) / 2.0;
    CHECK_OK(an_spot_init(&a, &c, NULL));
    CHECK_OK(an_spot_init(&b, &c, NULL));
    CHECK_OK(an_spot_init(&l, &c, NULL));
    CHECK_OK(an_spot_fit(&a, x, n_cal, NULL));
    CHECK_OK(an_spot_fit(&b, xb, n_cal, NULL));
    CHECK_OK(an_spot_fit(&l, xl, n_cal, NULL));
    CHECK_NEAR(a.t, b.t, 1e-9);
    CHECK_NEAR(a.t + shift, l.t, 1e-9);
    for (i = n_cal; i < n_cal + n; i++) {
        an_spot_verdict va, vb, vl;
        CHECK_OK(an_spot_push(&a, x[i], &va));
        CHECK_OK(an_spot_push(&b, xb[i], &vb));
        same &= va == vb;
        if (first_alarm == 0) {
            CHECK_OK(an_spot_push(&l, xl[i], &vl));
            CHECK(vl == va);
            CHECK_NEAR(a.z + shift, l.z, 1e-9);
            if (va == AN_SPOT_ALARM) first_alarm = i;
        }
        alarms += va == AN_SPOT_ALARM;
    }
    CHECK(same);
    CHECK(alarms >= 6 && first_alarm > n_cal);   /* the injected jumps of 12 */
    CHECK_NEAR(a.z, b.z, 1e-9);
    CHECK_NEAR(an_spot_threshold(&b) - an_spot_threshold(&a), 1000.0, 1e-9);
    printf("  dspot d=16: %zu alarms, identical under +1000, and under a drift of %.3f per point up to the first (at %zu)\n",
           alarms, slope, first_alarm);
    an_spot_uninit(&a); an_spot_uninit(&b); an_spot_uninit(&l);
    free(x); free(xb); free(xl);
}

/* Odd data: negative values, a heavy tail, ties, a short calibration:
   every threshold stays finite and above t, for SPOT and DSPOT.  (Four
   tied values with t at the top leave no peak: AN_ERR_TOO_SHORT.) */
static void test_spot_odd_data(void)
{
    an_rng rng;
    size_t trial, bad = 0, skipped = 0;
    double x[600];
    an_result r;
    for (an_rng_seed(&rng, 23, 4), trial = 0; trial < 40; trial++) {
        an_spot sp;
        an_spot_config c = an_spot_config_init(1e-3 * (1.0 + an_rng_uniform(&rng)), 0.8 + 0.19 * an_rng_uniform(&rng));
        size_t i, kind = trial % 4, n_cal = 50 + (size_t)an_rng_below(&rng, 200);
        c.depth = trial % 2 ? (size_t)an_rng_below(&rng, 10) : 0;
        c.max_peaks = 1 + (size_t)an_rng_below(&rng, 64);
        for (i = 0; i < 600; i++) {
            double u = an_rng_uniform(&rng);
            x[i] = kind == 0 ? -50.0 + u : kind == 1 ? 1.0 / (1e-3 + u) : kind == 2 ? floor(4.0 * u) : an_rng_normal(&rng);
        }
        CHECK_OK(an_spot_init(&sp, &c, NULL));
        r = an_spot_fit(&sp, x, n_cal, NULL);
        /* ties at the top: nothing exceeds t, which is an answer too */
        if (r == AN_ERR_TOO_SHORT && kind == 2) { skipped++; an_spot_uninit(&sp); continue; }
        if (r != AN_OK) { bad++; an_spot_uninit(&sp); continue; }
        for (i = n_cal; i < 600; i++) {
            an_spot_verdict v;
            if (an_spot_push(&sp, x[i], &v) != AN_OK || !an__finite(sp.z) || !(sp.z > sp.t) ||
                !an__finite(an_spot_threshold(&sp)))
                bad++;
        }
        an_spot_uninit(&sp);
    }
    CHECK_EQ_SIZE(bad, 0);
    CHECK(skipped <= 10);
}

static an_result job_spot(const an_allocator *a, void *ctx)
{
    an_spot sp;
    an_spot_config c = an_spot_config_init(1e-3, 0.9);
    const double *x = (const double *)ctx;
    an_result r;
    c.depth = 4;
    c.max_peaks = 64;
    if ((r = an_spot_init(&sp, &c, a)) != AN_OK) return r;
    r = an_spot_fit(&sp, x, 400, a);
    an_spot_uninit(&sp);
    return r;
}

static void test_spot_errors_and_memory(void)
{
    an_spot sp, pre;
    an_spot_config c = an_spot_config_init(1e-3, 0.9), bad;
    an_spot_verdict v;
    an_rng rng;
    double x[400];
    size_t bytes, i, same = 1;
    void *heap;
    an_rng_seed(&rng, 5, 5);
    exp_draws(&rng, 1.0, x, 400);
    bad = c; bad.q = 0.0;
    CHECK_RESULT(an_spot_init(&sp, &bad, NULL), AN_ERR_INVALID_ARG);
    bad = c; bad.level = 1.0;
    CHECK_RESULT(an_spot_init(&sp, &bad, NULL), AN_ERR_INVALID_ARG);
    bad = c; bad.q = NAN;
    CHECK_RESULT(an_spot_init(&sp, &bad, NULL), AN_ERR_INVALID_ARG);
    bad = c; bad.max_peaks = 0;
    CHECK_RESULT(an_spot_heap_size(&bad, &bytes), AN_ERR_INVALID_ARG);
    c.depth = 8;
    CHECK_OK(an_spot_init(&sp, &c, NULL));
    CHECK_RESULT(an_spot_push(&sp, 1.0, &v), AN_ERR_NOT_FITTED);
    CHECK(an_spot_threshold(&sp) == HUGE_VAL);
    CHECK_RESULT(an_spot_fit(&sp, x, 8, NULL), AN_ERR_TOO_SHORT);
    x[3] = NAN;
    CHECK_RESULT(an_spot_fit(&sp, x, 400, NULL), AN_ERR_INPUT);
    x[3] = 0.5;
    CHECK_OK(an_spot_fit(&sp, x, 400, NULL));
    CHECK_RESULT(an_spot_push(&sp, HUGE_VAL, &v), AN_ERR_INPUT);
    CHECK_RESULT(an_spot_push(&sp, NAN, &v), AN_ERR_INPUT);
    /* the caller-memory form gives the same bits */
    CHECK_OK(an_spot_heap_size(&c, &bytes));
    heap = an_malloc(NULL, bytes, AN_ALIGN);
    CHECK_RESULT(an_spot_init_preallocated(&pre, &c, (char *)heap + 8), AN_ERR_INVALID_ARG);
    CHECK_OK(an_spot_init_preallocated(&pre, &c, heap));
    CHECK_OK(an_spot_fit(&pre, x, 400, NULL));
    for (i = 0; i < 400; i++) {
        an_spot_verdict v1, v2;
        double y = x[(i * 7) % 400] * (i % 50 == 0 ? 20.0 : 1.0);
        CHECK_OK(an_spot_push(&sp, y, &v1));
        CHECK_OK(an_spot_push(&pre, y, &v2));
        same &= v1 == v2 && sp.z == pre.z && sp.gamma == pre.gamma;
    }
    CHECK(same);
    /* constant calibration data: nothing above t */
    for (i = 0; i < 400; i++) x[i] = 3.0;
    CHECK_RESULT(an_spot_fit(&sp, x, 400, NULL), AN_ERR_TOO_SHORT);
    an_spot_uninit(&pre);
    an_free(NULL, heap, bytes);
    an_spot_uninit(&sp);
    an_rng_seed(&rng, 5, 5);
    exp_draws(&rng, 1.0, x, 400);
    inject_failures("an_spot_init + fit", job_spot, x);
}

/* an_prediction_errors by hand: per feature |actual - expected| over the
   median of its finite training errors (1 where that is 0), the row's the
   largest; a NaN expectation adds nothing. */
static void test_prediction_errors(void)
{
    const float x[] = { 1, 10, 2, 20, 3, 30, 4, 40, 5, 50 }, bad[] = { 1, 10, 2, 20, 3, 30, 4, 40, 5, (float)NAN };
    const double e[] = { 1.5, 10, 2, 22, 2, NAN, 0, 40, NAN, NAN }, exact[] = { 1, 10, 2, 20, 3, 30, 4, 40, 5, 51 };
    const double want[] = { 1, 2, 2, 8, 0 };
    double err[5], scale[2];
    size_t i;
    CHECK_OK(an_prediction_errors(x, e, 5, 2, 3, err, scale, NULL));
    CHECK(scale[0] == 0.5 && scale[1] == 1.0);
    for (i = 0; i < 5; i++) CHECK_NEAR(err[i], want[i], 1e-12);
    CHECK_OK(an_prediction_errors(x, exact, 5, 2, 4, err, NULL, NULL));     /* no training error: raw units */
    CHECK(err[0] == 0 && err[3] == 0 && err[4] == 1);
    CHECK_OK(an_prediction_errors(x, e, 5, 2, 0, err, NULL, NULL));
    CHECK_NEAR(err[3], 4, 1e-12);
    CHECK_RESULT(an_prediction_errors(x, e, 5, 2, 6, err, NULL, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_prediction_errors(x, e, 0, 2, 0, err, NULL, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_prediction_errors(NULL, e, 5, 2, 3, err, NULL, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_prediction_errors(bad, e, 5, 2, 3, err, NULL, NULL), AN_ERR_INPUT);
}

int main(void)
{
    RUN(test_prediction_errors);
    RUN(test_telemanom_reference);
    RUN(test_float_entry_points);
    RUN(test_telemanom_errors_and_memory);
    RUN(test_telemanom_random_configs);
    RUN(test_gpd_against_scipy);
    RUN(test_gpd_exponential);
    RUN(test_gpd_threshold_formula);
    RUN(test_spot_quantile);
    RUN(test_spot_alarm_rate);
    RUN(test_dspot_drift);
    RUN(test_spot_odd_data);
    RUN(test_spot_errors_and_memory);
    return test_finish("test_thresholds");
}
