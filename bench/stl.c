/* stl.c - seconds per STL decomposition, for comparison with R's stats::stl
   and statsmodels' STL (bench/stl_peers.sh runs all three).

     build/stl --n N --period P [--swindow W|periodic] [--robust] [--repeat R]

   The series is the peers' synthetic one: 2 t / n + sin(2 pi t / P)
   + 0.3 cos(4 pi t / P) + N(0, 0.2^2) noise, t = 1..n.  The parameters are
   R's defaults for the seasonal window (7 unless given).  Each of R
   samples times enough calls to last at least 0.1 s; the median of the
   samples is printed, then the final line
   RESULT {"n": N, "period": P, "robust": 0|1, "seconds_per_call": S}. */
#define _POSIX_C_SOURCE 199309L
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(void)
{
    fprintf(stderr, "usage: stl --n N --period P [--swindow W|periodic] [--robust] [--repeat R]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    size_t n = 100000, period = 24, swindow = 7, repeat = 5, i, r, calls = 1;
    int robust = 0;
    char sw[32];
    double *y, *out, *samples;
    an_stl_config cfg;
    an_rng rng;
    void *work;
    size_t bytes;
    an_result res;
    for (i = 1; i < (size_t)argc; i++) {
        const char *a = argv[i], *v = i + 1 < (size_t)argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--robust")) { robust = 1; continue; }
        if (!v) usage();
        if (!strcmp(a, "--n")) n = (size_t)strtod(v, NULL);
        else if (!strcmp(a, "--period")) period = (size_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--swindow")) swindow = !strcmp(v, "periodic") ? AN_STL_PERIODIC : (size_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--repeat")) repeat = (size_t)strtoul(v, NULL, 10);
        else usage();
        i++;
    }
    if (repeat == 0) repeat = 1;
    y = (double *)malloc(n * sizeof(double));
    out = (double *)malloc(3 * n * sizeof(double));
    samples = (double *)malloc(repeat * sizeof(double));
    if (!y || !out || !samples) return 1;
    an_rng_seed(&rng, 1, 0);
    for (i = 0; i < n; i++) {
        double t = (double)(i + 1), w = 2.0 * 3.14159265358979323846 * t / (double)period;
        y[i] = 2.0 * t / (double)n + sin(w) + 0.3 * cos(2.0 * w) + 0.2 * an_rng_normal(&rng);
    }
    cfg = an_stl_config_init(period, swindow, robust);
    if ((res = an_stl_work_size(&cfg, n, &bytes)) != AN_OK || !(work = an_malloc(NULL, bytes, AN_ALIGN))) {
        fprintf(stderr, "stl: %s\n", an_result_str(res));
        return 1;
    }
    /* warm-up, and the number of calls that lasts 0.1 s */
    for (;;) {
        double t0 = bench_now();
        for (i = 0; i < calls; i++)
            if ((res = an_stl_decompose_work(&cfg, y, n, out, out + n, out + 2 * n, NULL, work)) != AN_OK) {
                fprintf(stderr, "stl: %s\n", an_result_str(res));
                return 1;
            }
        if (bench_now() - t0 >= 0.1) break;
        calls *= 2;
    }
    for (r = 0; r < repeat; r++) {
        double t0 = bench_now();
        for (i = 0; i < calls; i++) an_stl_decompose_work(&cfg, y, n, out, out + n, out + 2 * n, NULL, work);
        samples[r] = (bench_now() - t0) / (double)calls;
    }
    qsort(samples, repeat, sizeof(double), cmp_double);
    if (swindow == AN_STL_PERIODIC) snprintf(sw, sizeof sw, "periodic");
    else snprintf(sw, sizeof sw, "%lu", (unsigned long)swindow);
    printf("stl n=%lu period=%lu swindow=%s robust=%d: %.6g s per call (median of %lu x %lu calls, min %.6g)\n",
           (unsigned long)n, (unsigned long)period, sw, robust, samples[repeat / 2], (unsigned long)repeat,
           (unsigned long)calls, samples[0]);
    printf("RESULT {\"n\": %lu, \"period\": %lu, \"robust\": %d, \"seconds_per_call\": %.6g}\n", (unsigned long)n,
           (unsigned long)period, robust, samples[repeat / 2]);
    an_free(NULL, work, bytes);
    free(y);
    free(out);
    free(samples);
    return 0;
}
