/* test_inject.c - anomaly.h section 11: synthetic anomalies and base series.

   Oracles are hand-checkable: a ramp series x[t] = t makes every kind's
   effect a number you can write down; the masks must equal the event list;
   the same seed must give the same bytes; the size of an injected anomaly,
   measured back on the series, must be its magnitude in robust-scale units. */
#define ANOMALY_IMPLEMENTATION
#include "test.h"

static an_inject_event event(an_inject_kind kind, size_t start, size_t end, size_t channel, double magnitude,
                             double scale, int sign)
{
    an_inject_event e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    e.start = start;
    e.end = end;
    e.channel = channel;
    e.magnitude = magnitude;
    e.scale = scale;
    e.sign = sign;
    return e;
}

static void test_names(void)
{
    int k;
    an_inject_kind kind = AN_INJECT_GAP;
    for (k = 0; k < AN_INJECT_KINDS; k++) {
        CHECK(an_inject_kind_name(k) != NULL);
        CHECK_OK(an_inject_kind_parse(an_inject_kind_name(k), &kind));
        CHECK((int)kind == k);
    }
    CHECK(an_inject_kind_name(-1) == NULL);
    CHECK(an_inject_kind_name(AN_INJECT_KINDS) == NULL);
    CHECK(!strcmp(an_inject_kind_name(AN_INJECT_FLATLINE), "flatline"));
    CHECK_RESULT(an_inject_kind_parse("bump", &kind), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_inject_kind_parse(NULL, &kind), AN_ERR_INVALID_ARG);
    for (k = 0; k < AN_SYNTH_SHAPES; k++) CHECK(an_synth_shape_name(k) != NULL);
    CHECK(an_synth_shape_name(AN_SYNTH_SHAPES) == NULL);
}

/* Every kind on x[t] = t (channel 0) next to an untouched channel 1. */
static void test_exact_values(void)
{
    enum { N = 100, F = 2 };
    float x[N * F], before[N * F];
    unsigned char row[N], cell[N * F];
    an_inject_event ev[8];
    size_t t, k;
    for (t = 0; t < N; t++) { x[t * F] = (float)t; x[t * F + 1] = 1000.0f + (float)t; }
    memcpy(before, x, sizeof x);
    ev[0] = event(AN_INJECT_SPIKE, 10, 10, 0, 5.0, 2.0, 1);       /* +10 */
    ev[1] = event(AN_INJECT_SHIFT, 20, 29, 0, 1.0, 3.0, -1);      /* -3 */
    ev[2] = event(AN_INJECT_FLATLINE, 40, 49, 0, 6.0, 1.0, 1);    /* stuck at x[39] = 39 */
    ev[3] = event(AN_INJECT_TREND, 60, 63, 0, 2.0, 2.0, 1);       /* +1, +2, +3, +4 */
    ev[4] = event(AN_INJECT_GAP, 70, 71, 0, 1.0, 1.0, 1);
    ev[5] = event(AN_INJECT_PHASE, 80, 83, 0, 1.0, 1.0, 1);       /* period 8: x[t - 2] */
    ev[6] = event(AN_INJECT_DIP, 90, 90, 0, 4.0, 0.5, -1);        /* -2 */
    ev[7] = event(AN_INJECT_PERIOD, 30, 38, 0, 1.0, 1.0, 1);      /* 30 31 31 32 33 33 34 35 35 */
    CHECK_OK(an_inject_apply(x, N, F, ev, 8, 8, 1, row, cell));
    CHECK(x[10 * F] == 20.0f);
    for (t = 20; t <= 29; t++) CHECK(x[t * F] == (float)t - 3.0f);
    for (t = 40; t <= 49; t++) CHECK(x[t * F] == 39.0f);
    for (t = 60; t <= 63; t++) CHECK(x[t * F] == (float)t + (float)(t - 59));
    CHECK(x[70 * F] != x[70 * F] && x[71 * F] != x[71 * F]);
    for (t = 80; t <= 83; t++) CHECK(x[t * F] == (float)t - 2.0f);
    CHECK(x[90 * F] == 88.0f);
    {
        static const float slow[9] = { 30, 31, 31, 32, 33, 33, 34, 35, 35 };
        for (t = 30; t <= 38; t++) CHECK(x[t * F] == slow[t - 30]);
    }
    /* Everything else bit for bit, and the masks are exactly the events. */
    for (t = 0; t < N; t++) {
        int in = 0;
        for (k = 0; k < 8; k++) in |= t >= ev[k].start && t <= ev[k].end;
        CHECK(row[t] == in);
        CHECK(cell[t * F] == in);
        CHECK(cell[t * F + 1] == 0);
        CHECK(!memcmp(&x[t * F + 1], &before[t * F + 1], sizeof(float)));
        if (!in) CHECK(!memcmp(&x[t * F], &before[t * F], sizeof(float)));
    }
}

/* Collapse: the centred 13-row mean; on t + (-1)^t it is t +- 1/13. */
static void test_collapse_and_variance(void)
{
    enum { N = 4000 };
    static float x[N], before[N];
    an_inject_event ev[2];
    size_t t;
    double sum = 0.0, sum2 = 0.0, d;
    for (t = 0; t < N; t++) x[t] = (float)t + ((t & 1) ? -1.0f : 1.0f);
    memcpy(before, x, sizeof x);
    ev[0] = event(AN_INJECT_COLLAPSE, 20, 40, 0, 1.0, 1.0, 1);
    ev[1] = event(AN_INJECT_VARIANCE, 1000, 3999, 0, 3.0, 0.5, 1);   /* noise of sd 1.5 */
    CHECK_OK(an_inject_apply(x, N, 1, ev, 2, 0, 7, NULL, NULL));
    for (t = 20; t <= 40; t++) CHECK_NEAR(x[t], (double)t + ((t & 1) ? -1.0 : 1.0) / 13.0, 1e-4);
    for (t = 1000; t < N; t++) { d = (double)x[t] - (double)before[t]; sum += d; sum2 += d * d; }
    sum /= 3000.0;
    CHECK_NEAR(sum, 0.0, 0.1);
    CHECK_NEAR(sqrt(sum2 / 3000.0 - sum * sum), 1.5, 0.06);
    /* At the series' edge the window is cut short: rows 0..6 for row 0. */
    for (t = 0; t < 10; t++) x[t] = (float)t;
    ev[0] = event(AN_INJECT_COLLAPSE, 0, 0, 0, 1.0, 1.0, 1);
    CHECK_OK(an_inject_apply(x, 10, 1, ev, 1, 0, 7, NULL, NULL));
    CHECK_NEAR(x[0], 3.0, 1e-6);
}

/* Random plans over 3 channels: masks == events, slots, clean prefix. */
static void test_plan_masks(void)
{
    enum { N = 3000, F = 3 };
    static float x[N * F];
    static unsigned char row[N], cell[N * F], want_row[N], want_cell[N * F];
    an_inject_event ev[32];
    an_inject_config c = an_inject_config_init();
    an_synth_config s = an_synth_config_init(AN_SYNTH_DAILY, 5);
    double scale[F];
    size_t n, k, t, g;
    uint64_t seed;
    for (seed = 1; seed <= 20; seed++) {
        s.seed = seed;
        CHECK_OK(an_synth_series(x, N, F, &s));
        CHECK_OK(an_inject_scale(x, N, F, NULL, scale));
        c = an_inject_config_init();
        c.kinds = AN_INJECT_ALL & ~AN_INJECT_BIT(AN_INJECT_GAP);
        c.period = 288;
        c.count = 5;
        c.channels_per_event = 2;
        c.first_row = 500;
        c.seed = seed;
        CHECK_OK(an_inject(x, N, F, &c, scale, ev, 32, &n, row, cell));
        CHECK_EQ_SIZE(n, 10);
        memset(want_row, 0, sizeof want_row);
        memset(want_cell, 0, sizeof want_cell);
        for (k = 0; k < n; k++) {
            CHECK(ev[k].start >= c.first_row && ev[k].end < N && ev[k].start <= ev[k].end);
            CHECK(ev[k].scale == scale[ev[k].channel]);
            CHECK_EQ_SIZE(ev[k].group, k / 2);
            if (k % 2) {                                  /* the group's two channels: same place, kind */
                CHECK(ev[k].channel != ev[k - 1].channel);
                CHECK(ev[k].start == ev[k - 1].start && ev[k].end == ev[k - 1].end && ev[k].kind == ev[k - 1].kind);
            } else if (k) {
                CHECK(ev[k].start >= ev[k - 1].end + 1 + c.separation);   /* disjoint, in order */
            }
            if (ev[k].kind == AN_INJECT_SPIKE || ev[k].kind == AN_INJECT_DIP) CHECK(ev[k].start == ev[k].end);
            if (ev[k].kind == AN_INJECT_PERIOD) CHECK(ev[k].end - ev[k].start + 1 >= c.period);
            for (t = ev[k].start; t <= ev[k].end; t++) { want_row[t] = 1; want_cell[t * F + ev[k].channel] = 1; }
        }
        CHECK(!memcmp(row, want_row, N));
        CHECK(!memcmp(cell, want_cell, N * F));
        /* Five anomalies, nine kinds enabled: five different kinds. */
        for (g = 0; g < 5; g++)
            for (k = 0; k < g; k++) CHECK(ev[2 * g].kind != ev[2 * k].kind);
    }
}

/* The same seed gives the same bytes; another seed, other bytes. */
static void test_determinism(void)
{
    enum { N = 2000 };
    static float a[N], b[N], c[N];
    an_inject_event ea[8], eb[8], ec[8];
    an_inject_config cfg = an_inject_config_init();
    an_synth_config s;
    double scale;
    size_t na, nb, nc;
    int shape;
    cfg.kinds = AN_INJECT_COMMON;
    cfg.period = 96;
    for (shape = 0; shape < AN_SYNTH_SHAPES; shape++) {
        s = an_synth_config_init((an_synth_shape)shape, 11);
        s.period = 96;
        CHECK_OK(an_synth_series(a, N, 1, &s));
        CHECK_OK(an_synth_series(b, N, 1, &s));
        CHECK(!memcmp(a, b, sizeof a));
        s.seed = 12;
        CHECK_OK(an_synth_series(c, N, 1, &s));
        CHECK(memcmp(a, c, sizeof a) != 0);
        memcpy(c, a, sizeof a);
        CHECK_OK(an_inject_scale(a, N, 1, NULL, &scale));
        cfg.seed = 3;
        CHECK_OK(an_inject(a, N, 1, &cfg, &scale, ea, 8, &na, NULL, NULL));
        CHECK_OK(an_inject(b, N, 1, &cfg, &scale, eb, 8, &nb, NULL, NULL));
        CHECK(na == nb && !memcmp(ea, eb, na * sizeof ea[0]) && !memcmp(a, b, sizeof a));
        cfg.seed = 4;
        CHECK_OK(an_inject(c, N, 1, &cfg, &scale, ec, 8, &nc, NULL, NULL));
        CHECK(memcmp(a, c, sizeof a) != 0);
    }
}

/* Magnitudes measured back on the series in its own robust-scale units:
   a spike's height over its neighbours' mean, a shift's mean offset
   against the rows around it. */
static void test_magnitude_measured(void)
{
    enum { N = 20000 };
    static float x[N], before[N];
    an_inject_event ev[40];
    an_inject_config c = an_inject_config_init();
    an_synth_config s = an_synth_config_init(AN_SYNTH_DAILY_WEEKLY, 9);
    double scale, measured, spikes = 0.0, inside, outside;
    size_t n, k, t, m_in, m_out;
    CHECK_OK(an_synth_series(x, N, 1, &s));
    CHECK_OK(an_inject_scale(x, N, 1, NULL, &scale));
    CHECK_NEAR(scale, s.noise, 0.05);                /* 288 rows a day: the scale is the noise's sd */
    memcpy(before, x, sizeof x);
    c.kinds = AN_INJECT_BIT(AN_INJECT_SPIKE);
    c.count = 40;
    c.magnitude = 6.0;
    CHECK_OK(an_inject(x, N, 1, &c, &scale, ev, 40, &n, NULL, NULL));
    for (k = 0; k < n; k++) {
        t = ev[k].start;
        measured = ((double)x[t] - 0.5 * ((double)x[t - 1] + (double)x[t + 1])) / scale;
        spikes += measured / (double)n;
        CHECK_NEAR(measured, 6.0, 5.0);               /* one row against noise of sd ~1.2 units */
    }
    CHECK_NEAR(spikes, 6.0, 0.6);
    /* The injected series' own scale hardly moves: the MAD ignores them. */
    {
        double after;
        CHECK_OK(an_inject_scale(x, N, 1, NULL, &after));
        CHECK_NEAR(after, scale, 0.05 * scale);
    }
    memcpy(x, before, sizeof x);
    c.kinds = AN_INJECT_BIT(AN_INJECT_SHIFT);
    c.count = 10;
    c.magnitude = 4.0;
    c.min_len = c.max_len = 200;
    CHECK_OK(an_inject(x, N, 1, &c, &scale, ev, 40, &n, NULL, NULL));
    for (k = 0; k < n; k++) {
        inside = outside = 0.0;
        m_in = m_out = 0;
        for (t = ev[k].start; t <= ev[k].end; t++) { inside += (double)x[t] - (double)before[t]; m_in++; }
        for (t = ev[k].start - 20; t < ev[k].start; t++) { outside += (double)x[t] - (double)before[t]; m_out++; }
        CHECK_NEAR(inside / (double)m_in / scale, 4.0 * ev[k].sign, 1e-4);
        CHECK_NEAR(outside, 0.0, 0.0);
    }
}

static void test_bad_input(void)
{
    enum { N = 200 };
    float x[N], before[N];
    an_inject_event ev[4];
    an_inject_config c = an_inject_config_init();
    an_synth_config s = an_synth_config_init(AN_SYNTH_DAILY, 1);
    double scale = 1.0;
    size_t n = 99, t;
    for (t = 0; t < N; t++) x[t] = (float)sin(0.1 * (double)t);
    memcpy(before, x, sizeof x);
    /* Zero rows, NULLs, a kind out of range, an event past the end. */
    CHECK_RESULT(an_inject_scale(x, 0, 1, NULL, &scale), AN_ERR_TOO_SHORT);
    CHECK_RESULT(an_inject_scale(NULL, N, 1, NULL, &scale), AN_ERR_INVALID_ARG);
    ev[0] = event(AN_INJECT_SPIKE, 5, 5, 0, 1.0, 1.0, 1);
    CHECK_RESULT(an_inject_apply(x, 0, 1, ev, 1, 0, 1, NULL, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_inject_apply(x, N, 0, ev, 1, 0, 1, NULL, NULL), AN_ERR_INVALID_ARG);
    ev[0].kind = (an_inject_kind)AN_INJECT_KINDS;
    CHECK_RESULT(an_inject_apply(x, N, 1, ev, 1, 0, 1, NULL, NULL), AN_ERR_INVALID_ARG);
    ev[0] = event(AN_INJECT_SHIFT, 150, N, 0, 1.0, 1.0, 1);
    CHECK_RESULT(an_inject_apply(x, N, 1, ev, 1, 0, 1, NULL, NULL), AN_ERR_INVALID_ARG);
    ev[0] = event(AN_INJECT_SHIFT, 10, 9, 0, 1.0, 1.0, 1);
    CHECK_RESULT(an_inject_apply(x, N, 1, ev, 1, 0, 1, NULL, NULL), AN_ERR_INVALID_ARG);
    ev[0] = event(AN_INJECT_SHIFT, 10, 20, 1, 1.0, 1.0, 1);            /* channel out of range */
    CHECK_RESULT(an_inject_apply(x, N, 1, ev, 1, 0, 1, NULL, NULL), AN_ERR_INVALID_ARG);
    ev[0] = event(AN_INJECT_SHIFT, 10, 20, 0, NAN, 1.0, 1);
    CHECK_RESULT(an_inject_apply(x, N, 1, ev, 1, 0, 1, NULL, NULL), AN_ERR_INVALID_ARG);
    ev[0] = event(AN_INJECT_SHIFT, 10, 20, 0, 1.0, 0.0, 1);
    CHECK_RESULT(an_inject_apply(x, N, 1, ev, 1, 0, 1, NULL, NULL), AN_ERR_INVALID_ARG);
    ev[0] = event(AN_INJECT_PHASE, 1, 20, 0, 1.0, 1.0, 1);             /* before P/4 = 2 */
    CHECK_RESULT(an_inject_apply(x, N, 1, ev, 1, 8, 1, NULL, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_inject_apply(x, N, 1, ev, 1, 0, 1, NULL, NULL), AN_ERR_INVALID_ARG);
    /* A good event after a bad one: nothing written at all. */
    ev[0] = event(AN_INJECT_SPIKE, 5, 5, 0, 1.0, 1.0, 1);
    ev[1] = event(AN_INJECT_SPIKE, N, N, 0, 1.0, 1.0, 1);
    CHECK_RESULT(an_inject_apply(x, N, 1, ev, 2, 0, 1, NULL, NULL), AN_ERR_INVALID_ARG);
    CHECK(!memcmp(x, before, sizeof x));
    /* A NaN in the series. */
    x[50] = NAN;
    c.kinds = AN_INJECT_BIT(AN_INJECT_SPIKE);
    CHECK_RESULT(an_inject_scale(x, N, 1, NULL, &scale), AN_ERR_INPUT);
    CHECK_RESULT(an_inject_apply(x, N, 1, ev, 1, 0, 1, NULL, NULL), AN_ERR_INPUT);
    CHECK_RESULT(an_inject(x, N, 1, &c, &scale, ev, 4, &n, NULL, NULL), AN_ERR_INPUT);
    memcpy(x, before, sizeof x);
    /* Plans: too many for the capacity (the count still said), too long
       for the series, a bad config, phase without a period. */
    c.kinds = AN_INJECT_BIT(AN_INJECT_SHIFT);
    c.count = 5;
    CHECK_RESULT(an_inject_plan(N, 1, &c, ev, 4, &n), AN_ERR_SHAPE);
    CHECK_EQ_SIZE(n, 5);
    c.count = 2;
    c.min_len = c.max_len = 100;
    CHECK_RESULT(an_inject_plan(N, 1, &c, ev, 4, &n), AN_ERR_TOO_SHORT);
    CHECK_EQ_SIZE(n, 0);
    c.min_len = c.max_len = 500;
    c.count = 1;
    CHECK_RESULT(an_inject(x, N, 1, &c, &scale, ev, 4, &n, NULL, NULL), AN_ERR_TOO_SHORT);
    CHECK(!memcmp(x, before, sizeof x));
    c = an_inject_config_init();
    c.kinds = AN_INJECT_ALL;
    CHECK_RESULT(an_inject_plan(N, 1, &c, ev, 4, &n), AN_ERR_INVALID_ARG);   /* phase, period 0 */
    c.kinds = AN_INJECT_BIT(AN_INJECT_PERIOD);
    CHECK_RESULT(an_inject_plan(N, 1, &c, ev, 4, &n), AN_ERR_INVALID_ARG);   /* period, period 0 */
    c.kinds = 1u << AN_INJECT_KINDS;
    CHECK_RESULT(an_inject_plan(N, 1, &c, ev, 4, &n), AN_ERR_INVALID_ARG);
    c.kinds = 0;
    CHECK_RESULT(an_inject_plan(N, 1, &c, ev, 4, &n), AN_ERR_INVALID_ARG);
    c = an_inject_config_init();
    c.kinds = AN_INJECT_BIT(AN_INJECT_SPIKE);
    c.channels_per_event = 2;
    CHECK_RESULT(an_inject_plan(N, 1, &c, ev, 4, &n), AN_ERR_INVALID_ARG);
    c.channels_per_event = 1;
    c.first_row = N;
    CHECK_RESULT(an_inject_plan(N, 1, &c, ev, 4, &n), AN_ERR_TOO_SHORT);
    c.first_row = 0;
    CHECK_RESULT(an_inject_plan(0, 1, &c, ev, 4, &n), AN_ERR_INVALID_ARG);
    c.min_len = 10;
    c.max_len = 9;
    CHECK_RESULT(an_inject_plan(N, 1, &c, ev, 4, &n), AN_ERR_INVALID_ARG);
    c = an_inject_config_init();
    c.kinds = AN_INJECT_BIT(AN_INJECT_SPIKE);
    CHECK_RESULT(an_inject(x, N, 1, &c, NULL, ev, 4, &n, NULL, NULL), AN_ERR_INVALID_ARG);
    scale = -1.0;
    CHECK_RESULT(an_inject(x, N, 1, &c, &scale, ev, 4, &n, NULL, NULL), AN_ERR_INVALID_ARG);
    CHECK(!memcmp(x, before, sizeof x));
    /* Base series: bad shapes and parameters. */
    s.shape = (an_synth_shape)AN_SYNTH_SHAPES;
    CHECK_RESULT(an_synth_series(x, N, 1, &s), AN_ERR_INVALID_ARG);
    s = an_synth_config_init(AN_SYNTH_AR1, 1);
    s.ar = 1.0;
    CHECK_RESULT(an_synth_series(x, N, 1, &s), AN_ERR_INVALID_ARG);
    s = an_synth_config_init(AN_SYNTH_DAILY, 1);
    s.period = 1;
    CHECK_RESULT(an_synth_series(x, N, 1, &s), AN_ERR_INVALID_ARG);
    s.period = 24;
    CHECK_RESULT(an_synth_series(x, 0, 1, &s), AN_ERR_INVALID_ARG);
    CHECK_OK(an_synth_series(x, N, 1, &s));
    /* A constant series has scale 1; a mostly constant one, its mean
       absolute deviation. */
    for (t = 0; t < N; t++) x[t] = 3.0f;
    CHECK_OK(an_inject_scale(x, N, 1, NULL, &scale));
    CHECK(scale == 1.0);
    x[100] = 4.0f;
    CHECK_OK(an_inject_scale(x, N, 1, NULL, &scale));
    CHECK(scale > 0.0 && scale < 0.1);
}

static an_result job_scale(const an_allocator *a, void *ctx)
{
    double scale[2];
    return an_inject_scale((const float *)ctx, 50, 2, a, scale);
}

static void test_allocation(void)
{
    float x[100];
    size_t t;
    for (t = 0; t < 100; t++) x[t] = (float)(t % 7);
    inject_failures("an_inject_scale", job_scale, x);
}

int main(void)
{
    RUN(test_names);
    RUN(test_exact_values);
    RUN(test_collapse_and_variance);
    RUN(test_plan_masks);
    RUN(test_determinism);
    RUN(test_magnitude_measured);
    RUN(test_bad_input);
    RUN(test_allocation);
    return test_finish("test_inject");
}
