/* bench_stats.c - streaming throughput of the statistical detectors: points
   scored per second by an_detector_push, one feature, after a fit on
   24 * 60 points of a daily-periodic series.

     build/bench_stats [--n 2000000]

   Prints one line per detector and a final RESULT {json} line with
   points_per_second for each.  Times are the best of three runs. */
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

int main(int argc, char **argv)
{
    static const char *names[] = { "mad", "iqr", "mad_rolling64", "iqr_rolling64", "stl_iqr", "hybrid" };
    size_t n = 2000000, train = 24 * 60, i, k, rep;
    float *x, s;
    double rate[6];
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
    len += (size_t)snprintf(json + len, sizeof json - len, "{\"n\": %lu", (unsigned long)n);
    for (k = 0; k < 6; k++)
        len += (size_t)snprintf(json + len, sizeof json - len, ", \"%s_points_per_second\": %.4g", names[k], rate[k]);
    printf("RESULT %s}\n", json);
    free(x);
    return 0;
}
