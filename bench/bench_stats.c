/* bench_stats.c - streaming throughput of the statistical detectors: points
   scored per second by an_detector_push, one feature, after a fit on
   24 * 60 points of a daily-periodic series; then the KS drift detector's
   push (window 100, 1000 reference points) and the isolation forest's fit
   and score (100 trees, subsample 256, 2000 rows of 8 features).

     build/bench_stats [--n 2000000]

   Prints one line per measurement and a final RESULT {json} line with
   points_per_second for each streaming detector, ks_drift_us_per_point,
   iforest_fit_ms and iforest_score_us_per_row.  Times are the best of
   three runs. */
#define _POSIX_C_SOURCE 199309L
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

static an_detector *make(int kind)
{
    an_detector *d = NULL, *m = NULL;
    an_robust_config rc = an_robust_config_init(kind % 2 ? AN_ROBUST_IQR : AN_ROBUST_MAD, kind >= 2 ? 64 : 0);
    an_stl_iqr_config sc = an_stl_iqr_config_init(0);
    an_ensemble_config ec = an_ensemble_config_init();
    if (kind < 4) an_robust_create(&rc, 1, NULL, &d);
    else if (kind == 4) an_stl_iqr_create(&sc, 1, NULL, &d);
    else {
        an_ensemble_create(&ec, 1, NULL, &d);
        an_stl_iqr_create(&sc, 1, NULL, &m);
        an_ensemble_add(d, m, 0.6, AN_MEMBER_BASELINE);
        rc = an_robust_config_init(AN_ROBUST_MAD, 64);
        an_robust_create(&rc, 1, NULL, &m);
        an_ensemble_add(d, m, 0.4, AN_MEMBER_OPTIONAL);
    }
    return d;
}

/* KS drift push: microseconds per point, best of three. */
static double ks_push_us(void)
{
    enum { N = 20000, REF = 1000 };
    an_ks_drift_config c = an_ks_drift_config_init(100, AN_KS_TRAINING);
    an_detector *d = NULL;
    float *x = (float *)malloc(N * sizeof(float)), s;
    double best = 1e30;
    volatile float sink = 0;
    an_rng rng;
    size_t i, rep;
    if (!x) return -1.0;
    an_rng_seed(&rng, 21, 0);
    for (i = 0; i < N; i++) x[i] = (float)an_rng_normal(&rng);
    if (an_ks_drift_create(&c, 1, NULL, &d) != AN_OK || an_detector_fit(d, x, REF) != AN_OK) { free(x); return -1.0; }
    for (rep = 0; rep < 3; rep++) {
        double t0 = bench_now(), t;
        an_detector_reset(d);
        for (i = REF; i < N; i++) { an_detector_push(d, x + i, &s); sink += s; }
        if ((t = bench_now() - t0) < best) best = t;
    }
    (void)sink;
    an_detector_destroy(d);
    free(x);
    return 1e6 * best / (N - REF);
}

/* Isolation forest on a Gaussian cloud of 8 features with 20 points on a
   shell outside it: fit milliseconds and score microseconds per row, each
   the best of three. */
static int iforest_times(double *fit_ms, double *score_us)
{
    enum { N = 2000, F = 8, OUT = 20 };
    static float x[N * F], s[N];
    an_iforest_config c = an_iforest_config_init(5);
    an_rng rng;
    size_t i, f, rep;
    *fit_ms = *score_us = 1e30;
    an_rng_seed(&rng, 9, 3);
    for (i = 0; i < N; i++) {
        double norm = 0.0, radius = sqrt((double)F) + 3.0 + 2.0 * an_rng_uniform(&rng);
        for (f = 0; f < F; f++) { x[i * F + f] = (float)an_rng_normal(&rng); norm += x[i * F + f] * x[i * F + f]; }
        if (i >= N - OUT) for (f = 0; f < F; f++) x[i * F + f] = (float)(x[i * F + f] / sqrt(norm) * radius);
    }
    for (rep = 0; rep < 3; rep++) {
        an_detector *d = NULL;
        double t0, t1, t2;
        if (an_iforest_create(&c, F, NULL, &d) != AN_OK) return 0;
        t0 = bench_now();
        if (an_detector_fit(d, x, N) != AN_OK) { an_detector_destroy(d); return 0; }
        t1 = bench_now();
        if (an_detector_score(d, x, N, s) != AN_OK) { an_detector_destroy(d); return 0; }
        t2 = bench_now();
        if (1e3 * (t1 - t0) < *fit_ms) *fit_ms = 1e3 * (t1 - t0);
        if (1e6 * (t2 - t1) / N < *score_us) *score_us = 1e6 * (t2 - t1) / N;
        an_detector_destroy(d);
    }
    return 1;
}

int main(int argc, char **argv)
{
    static const char *names[] = { "mad", "iqr", "mad_rolling64", "iqr_rolling64", "stl_iqr", "hybrid" };
    size_t n = 2000000, train = 24 * 60, i, k, rep;
    float *x, s;
    double rate[6], ks_us, if_fit_ms, if_score_us;
    char json[1024];
    size_t len = 0;
    an_rng rng;
    for (i = 1; i + 1 < (size_t)argc; i += 2)
        if (!strcmp(argv[i], "--n")) n = (size_t)strtod(argv[i + 1], NULL);
    if (!(x = (float *)malloc((n + train) * sizeof(float)))) return 1;
    an_rng_seed(&rng, 1, 0);
    for (i = 0; i < n + train; i++)
        x[i] = (float)(10.0 + 3.0 * sin(2.0 * 3.14159265358979 * (double)i / 24) + 0.3 * an_rng_normal(&rng));
    for (k = 0; k < 6; k++) {
        an_detector *d = make((int)k);
        an_result r = an_detector_fit(d, x, train);
        double best = 1e30;
        volatile float sink = 0;
        if (r != AN_OK) { fprintf(stderr, "%s: %s\n", names[k], an_result_str(r)); return 1; }
        for (rep = 0; rep < 3; rep++) {
            double t0 = bench_now(), t;
            an_detector_reset(d);
            for (i = 0; i < n; i++) { an_detector_push(d, x + train + i, &s); sink += s; }
            if ((t = bench_now() - t0) < best) best = t;
        }
        (void)sink;
        rate[k] = (double)n / best;
        printf("%-14s %8.1f million points/s (%.1f ns per point)\n", names[k], rate[k] / 1e6, 1e9 / rate[k]);
        an_detector_destroy(d);
    }
    if ((ks_us = ks_push_us()) < 0.0) { fprintf(stderr, "ks_drift: failed\n"); return 1; }
    printf("%-14s %8.2f us per point (window 100, 1000 reference points)\n", "ks_drift", ks_us);
    if (!iforest_times(&if_fit_ms, &if_score_us)) { fprintf(stderr, "iforest: failed\n"); return 1; }
    printf("%-14s fit %.2f ms, score %.2f us per row (100 trees, subsample 256, 2000 rows x 8 features)\n",
           "iforest", if_fit_ms, if_score_us);
    len += (size_t)snprintf(json + len, sizeof json - len, "{\"n\": %lu", (unsigned long)n);
    for (k = 0; k < 6; k++)
        len += (size_t)snprintf(json + len, sizeof json - len, ", \"%s_points_per_second\": %.4g", names[k], rate[k]);
    len += (size_t)snprintf(json + len, sizeof json - len,
                            ", \"ks_drift_us_per_point\": %.4g, \"iforest_fit_ms\": %.4g, \"iforest_score_us_per_row\": %.4g",
                            ks_us, if_fit_ms, if_score_us);
    printf("RESULT %s}\n", json);
    free(x);
    return 0;
}
