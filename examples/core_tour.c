/* core_tour.c - the core layer of anomaly.h on one synthetic sensor series,
   start to finish (what `make demo` runs until the CLI lands):

     missing values -> robust scaling -> a causal online threshold ->
     detections -> point, event and NAB scores -> a saved, reloaded scaler.

   The series: two weeks of 5-minute readings with a daily cycle, noise, a
   gap of missing values, and three injected anomalies (a spike, a level
   shift, a burst of noise).  The detector here is deliberately simple (a
   robust z-score against an EWMA threshold); the other headers bring STL
   and LSTM detectors that plug into the same scoring. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define N 4032                    /* 14 days x 288 five-minute steps */
#define DAY 288

static void check(an_result r, const char *what)
{
    if (r != AN_OK) {
        fprintf(stderr, "core_tour: %s: %s\n", what, an_result_str(r));
        exit(1);
    }
}

int main(void)
{
    static float x[N], scaled[N], score[N], nab_score[N];
    static unsigned char truth[N], pred[N], filled[N];
    an_rng rng;
    an_scaler scaler;
    an_ewma_threshold thr;
    an_confusion cm;
    an_event_metrics ev;
    an_range windows[8], events[64];
    size_t i, n_filled, n_events, n_windows;
    double auc, ap;
    const double two_pi = 6.283185307179586;

    /* 1. a series with a daily cycle, noise, a gap and three anomalies */
    an_rng_seed(&rng, 2026, 1);
    for (i = 0; i < N; i++)
        x[i] = (float)(50.0 + 10.0 * sin(two_pi * (double)(i % DAY) / DAY) + an_rng_normal(&rng));
    for (i = 1500; i < 1520; i++) x[i] = NAN;                              /* sensor gap */
    x[2000] += 12.0f; truth[2000] = 1;                                    /* spike */
    for (i = 2600; i < 2700; i++) { x[i] += 8.0f; truth[i] = 1; }         /* level shift */
    for (i = 3300; i < 3360; i++) { x[i] += (float)(5.0 * an_rng_normal(&rng)); truth[i] = 1; } /* noise burst */

    check(an_fill_missing(x, N, 1, NULL, filled, &n_filled), "fill missing");
    printf("1. filled %zu missing values by linear interpolation\n", n_filled);

    /* 2. remove the daily cycle (the mean of each time of day over the first
       week stands in for STL here), then robust-scale on that first week */
    {
        static double profile[DAY];
        for (i = 0; i < 7 * DAY; i++) profile[i % DAY] += x[i] / 7.0;
        for (i = 0; i < N; i++) scaled[i] = (float)(x[i] - profile[i % DAY]);
    }
    check(an_scaler_init(&scaler, AN_SCALER_ROBUST, 1, NULL), "scaler init");
    check(an_scaler_fit(&scaler, scaled, 7 * DAY, NULL), "scaler fit");
    check(an_scaler_transform(&scaler, scaled, N, scaled), "scaler transform");
    printf("2. robust scaler on week 1: median %.3f, IQR %.3f\n", scaler.center[0], scaler.scale[0]);

    /* 3. causal scoring: the robust |z| of each point, flagged against an
       EWMA threshold that keeps learning but not from what it flags */
    check(an_ewma_threshold_init(&thr, 0.01, 4.0, DAY), "threshold init");
    thr.skip_anomalies = 1;
    for (i = 0; i < N; i++) {
        score[i] = fabsf(scaled[i]);
        pred[i] = (unsigned char)an_ewma_threshold_push(&thr, score[i], NULL);
        nab_score[i] = (float)(1.0 - exp(-score[i] / 4.0));            /* into [0, 1] */
    }
    check(an_ranges_from_labels(pred, N, events, 64, &n_events), "events");
    printf("3. %zu detected events:\n", n_events);
    for (i = 0; i < n_events && i < 10; i++)
        printf("   rows %4zu-%-4zu  day %2zu %02zu:%02zu\n", events[i].start, events[i].end,
               events[i].start / DAY + 1, events[i].start % DAY / 12, events[i].start % 12 * 5);

    /* 4. how good is it?  points, events, ranking, and NAB */
    check(an_confusion_matrix(truth, pred, N, &cm), "confusion");
    check(an_event_scores(truth, pred, N, &ev), "event scores");
    check(an_roc_auc(score, truth, N, NULL, &auc), "roc auc");
    check(an_average_precision(score, truth, N, NULL, &ap), "average precision");
    printf("4. points: precision %.3f recall %.3f F1 %.3f | events: precision %.3f recall %.3f F1 %.3f\n",
           an_precision(&cm), an_recall(&cm), an_f1(&cm), ev.precision, ev.recall, ev.f1);
    printf("   ranking: ROC-AUC %.3f, average precision %.3f\n", auc, ap);
    check(an_ranges_from_labels(truth, N, windows, 8, &n_windows), "windows");
    for (i = 0; i < n_windows; i++) {                                    /* NAB wants >= 2 rows */
        if (windows[i].start > 0) windows[i].start--;
        if (windows[i].end + 1 < N) windows[i].end++;
    }
    {
        an_nab_series s;
        an_nab_result res;
        s.score = nab_score; s.n = N; s.windows = windows; s.n_windows = n_windows;
        check(an_nab_evaluate(&s, 1, an_nab_profile_get(AN_NAB_STANDARD), NULL, &res), "nab");
        printf("   NAB standard profile: %.1f (raw %.3f, best threshold %.3f)\n", res.normalized, res.raw, res.threshold);
    }

    /* 5. the scaler survives a trip through a model file */
    {
        an_writer w;
        an_reader r;
        an_scaler back;
        const void *data;
        size_t size;
        check(an_writer_init(&w, NULL), "writer");
        check(an_scaler_save(&scaler, &w), "save");
        check(an_writer_finish(&w, &data, &size), "finish");
        check(an_model_open(&r, data, size), "open");
        check(an_scaler_load(&back, &r, NULL), "load");
        printf("5. scaler saved to %zu bytes and loaded back: median %.3f, IQR %.3f\n", size, back.center[0], back.scale[0]);
        an_scaler_uninit(&back);
        an_writer_uninit(&w);
    }
    an_scaler_uninit(&scaler);
    printf("SIMD path: %s\n", an_simd_name(an_simd_path()));
    return 0;
}
