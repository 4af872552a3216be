/* bench/xai.c - the explainers' cost on the target: one event of
   the T = 60, H = 64 LSTM autoencoder (one feature), Kernel SHAP over 24
   players with 2,048 coalitions, and integrated gradients with 64 steps.
   The model is trained briefly (the cost of an evaluation does not depend
   on how well it fits).  The explainers score their masked copies in
   batches (an_detector_score_batch: the model's batch, 32 windows a
   pass; an_detector_gradient_batch: as many as keep its buffers within
   ANOMALY_LSTM_BATCH_BYTES, 4 here); Kernel SHAP is also timed one copy
   per score call (xai.chunk = 1, the path before batching), for
   comparison, and the two must give the same values.  Each is timed `reps` times (argument 1,
   default 7): best, median and worst wall-clock times, and the median
   processor time of the thread (which a busy machine inflates less).
   The fill is the window's own rows without the spike, so masking any
   segment but the spike's leaves the input as it was, and the masked
   copies share long prefixes (the encoder copies them).  Kernel SHAP is
   timed once more with a fill half a period away (the series shifted by
   24 rows), where every masked segment changes the input: the cost
   without that luck ("shap_shifted_fill_..." in the RESULT line).
   Pin it to a core: taskset -c 1 build/bench_xai.  Prints a RESULT line.
   A second argument names a file to write the trained model to (an
   anomaly.h model file, which tools/torch_model.py loads), so that
   bench/xai_torch.py times PyTorch on the very same weights
   (bench/xai_compare.sh runs the two).
   Build: make build/bench_xai. */
#define _POSIX_C_SOURCE 199309L
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_lstm.h"
#include "../anomaly_xai.h"
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define T 60
#define N 1200
#define MAX_REPS 101

/* Processor time of this thread, seconds. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v (n) in place; its median. */
static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
    static float train[N], fill[T], shifted[T];
    float x[T];
    double phi[24], phi1[24], attr[T];
    double shap[MAX_REPS], shap_cpu[MAX_REPS], shap1[MAX_REPS], ig[MAX_REPS], ig_cpu[MAX_REPS];
    double shift[MAX_REPS], shift_cpu[MAX_REPS];
    an_lstm_config c = an_lstm_ae_config_init(T, 64);
    an_detector *d = NULL;
    an_xai_players p;
    an_xai xai;
    an_xai_summary s, s1, sg;
    size_t i, rep, reps = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 7, chunk;
    if (reps < 1 || reps > MAX_REPS) reps = 7;
    for (i = 0; i < N; i++) train[i] = (float)(sin(6.2831853 * (double)i / 48.0) + 0.1 * sin(1.7 * (double)i));
    c.train.epochs = 1;
    c.train.stride = 8;
    if (an_lstm_ae_create(&c, 1, NULL, &d) != AN_OK || an_detector_fit(d, train, N) != AN_OK) return 1;
    if (argc > 2) {   /* the model, for bench/xai_torch.py */
        an_writer w;
        const void *file;
        size_t size;
        if (an_writer_init(&w, NULL) != AN_OK || an_detector_save(d, &w) != AN_OK ||
            an_writer_finish(&w, &file, &size) != AN_OK || an_file_write(argv[2], file, size) != AN_OK) {
            fprintf(stderr, "bench_xai: cannot write the model to %s\n", argv[2]);
            return 1;
        }
        an_writer_uninit(&w);
    }
    for (i = 0; i < T; i++) {
        x[i] = train[600 + i];
        fill[i] = train[600 + i];
        shifted[i] = train[624 + i];
    }
    x[T - 5] += 3.0f;   /* a spike near the end of the window */
    memset(&p, 0, sizeof p);
    p.detector = d;
    p.x = x;
    p.n_rows = T;
    p.start = 0;
    p.length = T;
    p.target = T - 1;
    p.n_segments = 24;
    p.fill = AN_XAI_FILL_EXPECTED;
    p.fill_values = fill;
    if (an_xai_init(&xai, &p, 2048, NULL) != AN_OK) return 1;
    chunk = xai.chunk;
    for (rep = 0; rep < reps; rep++) {
        double t0 = bench_now(), c0 = cpu_now();
        xai.chunk = chunk;
        if (an_xai_shap(&xai, 2048, 1, phi, &s) != AN_OK) return 1;
        shap[rep] = bench_now() - t0;
        shap_cpu[rep] = cpu_now() - c0;
        xai.chunk = 1;
        t0 = bench_now();
        if (an_xai_shap(&xai, 2048, 1, phi1, &s1) != AN_OK) return 1;
        shap1[rep] = bench_now() - t0;
        if (memcmp(phi, phi1, sizeof phi) != 0) {
            fprintf(stderr, "bench_xai: batched and one-by-one Kernel SHAP differ\n");
            return 1;
        }
        t0 = bench_now();
        c0 = cpu_now();
        if (an_xai_integrated_gradients(d, x, fill, T, T - 1, 64, AN_XAI_MIDPOINT, attr, &sg, NULL) != AN_OK) return 1;
        ig[rep] = bench_now() - t0;
        ig_cpu[rep] = cpu_now() - c0;
    }
    xai.chunk = chunk;
    an_xai_uninit(&xai);
    p.fill_values = shifted;
    if (an_xai_init(&xai, &p, 2048, NULL) != AN_OK) return 1;
    for (rep = 0; rep < reps; rep++) {
        double t0 = bench_now(), c0 = cpu_now();
        if (an_xai_shap(&xai, 2048, 1, phi1, &s1) != AN_OK) return 1;
        shift[rep] = bench_now() - t0;
        shift_cpu[rep] = cpu_now() - c0;
    }
    {
        double shap_med = median(shap, reps), shap1_med = median(shap1, reps), ig_med = median(ig, reps);
        double shap_cpu_med = median(shap_cpu, reps), ig_cpu_med = median(ig_cpu, reps);
        double shift_med = median(shift, reps), shift_cpu_med = median(shift_cpu, reps);
        printf("Kernel SHAP, 24 players, 2048 coalitions (%zu evaluations, %zu series scored, %zu per score call): "
               "median %.1f ms (best %.1f, worst %.1f, %zu runs); one per call: median %.1f ms; gap %.2g\n",
               s.evaluations, s.scored, chunk, 1e3 * shap_med, 1e3 * shap[0], 1e3 * shap[reps - 1], reps, 1e3 * shap1_med, s.gap);
        printf("Kernel SHAP, the fill shifted by 24 rows (%zu series scored): median %.1f ms (best %.1f), processor %.1f ms\n",
               s1.scored, 1e3 * shift_med, 1e3 * shift[0], 1e3 * shift_cpu_med);
        printf("integrated gradients, 64 midpoint steps: median %.1f ms (best %.1f, worst %.1f); relative completeness "
               "gap %.2g\n", 1e3 * ig_med, 1e3 * ig[0], 1e3 * ig[reps - 1], fabs(sg.gap) / fabs(sg.full - sg.empty));
        printf("RESULT {\"shap_24_players_2048_ms\": %.2f, \"ig_64_steps_ms\": %.2f, \"simd\": \"%s\", "
               "\"reps\": %zu, \"shap_scored\": %zu, \"shap_median_ms\": %.2f, \"shap_worst_ms\": %.2f, \"shap_cpu_median_ms\": %.2f, "
               "\"shap_one_per_call_median_ms\": %.2f, \"shap_chunk\": %zu, \"ig_median_ms\": %.2f, "
               "\"ig_worst_ms\": %.2f, \"ig_cpu_median_ms\": %.2f, \"shap_shifted_fill_best_ms\": %.2f, "
               "\"shap_shifted_fill_median_ms\": %.2f, \"shap_shifted_fill_cpu_median_ms\": %.2f, "
               "\"score_x\": %.9g, \"score_fill\": %.9g}\n",
               1e3 * shap[0], 1e3 * ig[0], an_simd_name(an_simd_path()), reps, s.scored, 1e3 * shap_med, 1e3 * shap[reps - 1],
               1e3 * shap_cpu_med, 1e3 * shap1_med, chunk, 1e3 * ig_med, 1e3 * ig[reps - 1], 1e3 * ig_cpu_med,
               1e3 * shift[0], 1e3 * shift_med, 1e3 * shift_cpu_med, s.full, s.empty);
    }
    an_xai_uninit(&xai);
    an_detector_destroy(d);
    return 0;
}
