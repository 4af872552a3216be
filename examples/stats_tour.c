/* stats_tour.c - anomaly_stats.h in one program.

   Six weeks of hourly telemetry with a daily and a weekly cycle, a trend,
   noise, and four injected anomalies.  The tour finds the periods, splits
   the series with MSTL, fits the hybrid detector (STL + IQR as the
   baseline, a rolling robust z-score beside it) on the first three weeks,
   streams the whole series point by point, and prints what it flags with
   the expected value.  Then it saves the detector and checks that the loaded
   copy scores the same.

     cc -O2 -std=c99 examples/stats_tour.c -o stats_tour -lm && ./stats_tour */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"

#include <stdio.h>

#define HOURS (24 * 7 * 6)
#define TRAIN (24 * 7 * 3)

static void check(an_result r, const char *what)
{
    if (r != AN_OK) {
        fprintf(stderr, "%s: %s\n", what, an_result_str(r));
        exit(1);
    }
}

int main(void)
{
    static float x[HOURS];
    static double y[HOURS], seasonal[2 * HOURS], trend[HOURS], remainder[HOURS];
    static unsigned char truth[HOURS];
    size_t periods[4], n_periods, i, flagged = 0, hits = 0;
    double strength;
    an_rng rng;
    an_mstl_config mstl;
    an_ensemble_config ec = an_ensemble_config_init();
    an_stl_iqr_config sc = an_stl_iqr_config_init(0);          /* period: detect */
    an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, 48);
    an_detector *hybrid, *member;

    /* the series: daily and weekend cycles, a slow trend, noise */
    an_rng_seed(&rng, 2024, 1);
    for (i = 0; i < HOURS; i++) {
        double day = sin(2 * 3.14159265358979 * (double)(i % 24) / 24), weekend = (i / 24) % 7 >= 5 ? -4.0 : 0.0;
        y[i] = 50.0 + 0.01 * (double)i + 6.0 * day + weekend + 0.8 * an_rng_normal(&rng);
    }
    y[600] += 9.0;                                   /* a spike */
    y[700] -= 7.0;                                   /* a dip */
    for (i = 850; i < 858; i++) y[i] += 6.0;         /* eight hours shifted up */
    y[950] += 12.0;                                  /* a bigger spike */
    for (i = 0; i < HOURS; i++) {
        x[i] = (float)y[i];
        truth[i] = i == 600 || i == 700 || (i >= 850 && i < 858) || i == 950;
    }

    /* 1. periods from the autocorrelation, and MSTL with them */
    check(an_detect_periods(y, TRAIN, 0, 0, periods, 4, &n_periods, NULL), "detect periods");
    printf("periods found in the first three weeks:");
    for (i = 0; i < n_periods; i++) printf(" %zu", periods[i]);
    printf("\n");
    mstl = an_mstl_config_init(periods, n_periods < 2 ? n_periods : 2, 1);
    check(an_mstl_decompose(&mstl, y, HOURS, seasonal, trend, remainder, NULL), "mstl");
    for (i = 0; i < mstl.n_periods; i++) {
        check(an_stl_strength(seasonal + i * HOURS, remainder, HOURS, &strength), "strength");
        printf("seasonal strength at period %zu: %.2f\n", periods[i], strength);
    }
    check(an_stl_strength(trend, remainder, HOURS, &strength), "strength");
    printf("trend strength: %.2f\n\n", strength);

    /* 2. the hybrid detector: fit on three weeks, then stream */
    check(an_ensemble_create(&ec, 1, NULL, &hybrid), "ensemble");
    check(an_stl_iqr_create(&sc, 1, NULL, &member), "stl-iqr");
    check(an_ensemble_add(hybrid, member, 0.6, AN_MEMBER_BASELINE), "add");
    check(an_robust_create(&rc, 1, NULL, &member), "mad");
    check(an_ensemble_add(hybrid, member, 0.4, AN_MEMBER_OPTIONAL), "add");
    check(an_detector_fit(hybrid, x, TRAIN), "fit");
    an_ensemble_member(hybrid, 0, &member);
    /* a stream starts where the training rows did: the first three weeks
       are scored in sample, the rest as they arrive */
    printf("hour  value  expected  likelihood  vote  confidence  severity\n");
    for (i = 0; i < HOURS; i++) {
        an_ensemble_decision d;
        double expected;
        float score;
        an_stl_iqr_expected(member, &expected);      /* before the point arrives */
        check(an_detector_push(hybrid, &x[i], &score), "push");
        an_ensemble_last(hybrid, &d);
        if (!d.anomaly) continue;
        flagged++;
        hits += truth[i];
        printf("%4zu  %5.1f  %8.1f  %10.4f  %4.2f  %10.2f  %8.2f%s\n", i, x[i], expected, d.likelihood, d.vote,
               d.confidence, d.severity, truth[i] ? "" : "   (not injected)");
    }
    printf("\n%zu flagged, %zu of them injected; 11 injected points in all\n", flagged, hits);

    /* 3. save and load: the copy scores the same */
    {
        an_writer w;
        an_reader r;
        const void *data;
        size_t size;
        an_detector *copy;
        static float a[HOURS], b[HOURS];
        check(an_writer_init(&w, NULL), "writer");
        check(an_detector_save(hybrid, &w), "save");
        check(an_writer_finish(&w, &data, &size), "finish");
        check(an_model_open(&r, data, size), "open");
        {
            size_t n_types;
            const an_detector_vtable *const *types = an_stats_types(&n_types);
            check(an_detector_load(&r, types, n_types, NULL, &copy), "load");
        }
        check(an_ensemble_reserve(hybrid, HOURS), "reserve");
        check(an_ensemble_reserve(copy, HOURS), "reserve");
        check(an_detector_score(hybrid, x, HOURS, a), "score");
        check(an_detector_score(copy, x, HOURS, b), "score");
        printf("model file: %zu bytes; the loaded copy scores %s\n", size,
               /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c): the bits are the claim */
               memcmp(a, b, sizeof a) == 0 ? "bit-identically" : "DIFFERENTLY");
        an_detector_destroy(copy);
        an_writer_uninit(&w);
    }
    an_detector_destroy(hybrid);
    return 0;
}
