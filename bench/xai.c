/* bench/xai.c - the explainers' cost on the target: one event of
   the T = 60, H = 64 LSTM autoencoder (one feature), Kernel SHAP over 24
   players with 2,048 coalitions, and integrated gradients with 64 steps.
   The model is trained briefly (the cost of an evaluation does not depend
   on how well it fits).  Each coalition is one an_detector_score call on
   the T rows the window needs (the contract scores one series per call,
   so the evaluations are not batched).  Prints a RESULT line.
   Build: make build/bench_xai. */
#define _POSIX_C_SOURCE 199309L
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_lstm.h"
#include "../anomaly_xai.h"
#include "bench.h"

#include <math.h>
#include <stdio.h>

#define T 60
#define N 1200

int main(void)
{
    static float train[N], fill[T];
    float x[T];
    double phi[24], attr[T], best_shap = 1e30, best_ig = 1e30;
    an_lstm_config c = an_lstm_ae_config_init(T, 64);
    an_detector *d = NULL;
    an_xai_players p;
    an_xai xai;
    an_xai_summary s, sg;
    size_t i, rep;
    for (i = 0; i < N; i++) train[i] = (float)(sin(6.2831853 * (double)i / 48.0) + 0.1 * sin(1.7 * (double)i));
    c.train.epochs = 1;
    c.train.stride = 8;
    if (an_lstm_ae_create(&c, 1, NULL, &d) != AN_OK || an_detector_fit(d, train, N) != AN_OK) return 1;
    for (i = 0; i < T; i++) {
        x[i] = train[600 + i];
        fill[i] = train[600 + i];
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
    for (rep = 0; rep < 3; rep++) {
        double t0 = bench_now(), t1;
        if (an_xai_shap(&xai, 2048, 1, phi, &s) != AN_OK) return 1;
        t1 = bench_now() - t0;
        if (t1 < best_shap) best_shap = t1;
        t0 = bench_now();
        if (an_xai_integrated_gradients(d, x, fill, T, T - 1, 64, AN_XAI_MIDPOINT, attr, &sg, NULL) != AN_OK) return 1;
        t1 = bench_now() - t0;
        if (t1 < best_ig) best_ig = t1;
    }
    printf("Kernel SHAP, 24 players, 2048 coalitions (%zu score calls): %.1f ms; gap %.2g\n", s.evaluations,
           1e3 * best_shap, s.gap);
    printf("integrated gradients, 64 midpoint steps: %.1f ms; relative completeness gap %.2g\n", 1e3 * best_ig,
           fabs(sg.gap) / fabs(sg.full - sg.empty));
    printf("RESULT {\"shap_24_players_2048_ms\": %.2f, \"ig_64_steps_ms\": %.2f, \"simd\": \"%s\"}\n", 1e3 * best_shap,
           1e3 * best_ig, an_simd_name(an_simd_path()));
    an_xai_uninit(&xai);
    an_detector_destroy(d);
    return 0;
}
