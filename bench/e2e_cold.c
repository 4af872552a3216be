/* e2e_cold.c - cold start of a saved model, in process, for make bench-e2e:
   the time from nothing (no model in memory) to the first score: read the
   file `anomaly detect --save` wrote, load it (an_ensemble_load with
   every type the CLI links), push one row.  Each repetition starts from
   the file on disk again; the first repetition, the median and the best
   are printed, in microseconds, with the score (so the work is done).

       bench/e2e_cold MODEL.anom VALUE [REPS]
*/
#define _POSIX_C_SOURCE 199309L
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "../anomaly_lstm.h"
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const an_detector_vtable *types[32];
    const an_detector_vtable *const *stats, *const *lstm;
    size_t n_stats, n_lstm, i, reps = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 50;
    double us[1000], first;
    float row, score = 0.0f;
    if (argc < 3 || reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: e2e_cold MODEL.anom VALUE [REPS, 1..1000]\n");
        return 2;
    }
    row = strtof(argv[2], NULL);
    stats = an_stats_types(&n_stats);
    lstm = an_lstm_types(&n_lstm);
    if (n_stats + n_lstm > sizeof types / sizeof types[0]) return 2;
    for (i = 0; i < n_stats + n_lstm; i++) types[i] = i < n_stats ? stats[i] : lstm[i - n_stats];
    for (i = 0; i < reps; i++) {
        void *data;
        size_t size;
        an_reader r;
        an_detector *d = NULL;
        an_result res;
        double t0 = bench_now();
        if ((res = an_file_read(argv[1], NULL, &data, &size)) != AN_OK ||
            (res = an_model_open(&r, data, size)) != AN_OK ||
            (res = an_ensemble_load(&r, types, n_stats + n_lstm, NULL, &d)) != AN_OK ||
            (res = an_detector_push(d, &row, &score)) != AN_OK) {
            fprintf(stderr, "e2e_cold: %s: %s\n", argv[1], an_result_str(res));
            return 1;
        }
        us[i] = 1e6 * (bench_now() - t0);
        an_detector_destroy(d);
        an_free(NULL, data, size);
    }
    first = us[0];
    qsort(us, reps, sizeof us[0], cmp_double);
    printf("cold start in process: first %.0f us, median %.0f us, best %.0f us (%zu repetitions), score %.6g\n", first,
           us[reps / 2], us[0], reps, (double)score);
    return 0;
}
