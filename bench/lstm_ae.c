/* bench/lstm_ae.c - the LSTM autoencoder's speed, in the form of the
   PyTorch peer ../shared/peers/lstm_ae_torch.py: the same flags, the same
   model (LSTM(H) -> RepeatVector(T) -> LSTM(H, sequences) ->
   TimeDistributed(Dense(F)), tanh, Keras initialisation, MSE, Adam 1e-3,
   eps 1e-8, shuffling every epoch), the same data recipe and the same
   final `RESULT {json}` line with the same keys.

       bench/lstm_ae --T 60 --F 1 --H 64 --N 2048 --B 32 --epochs 3 --seed 0

   Data: N windows of T steps, x = sin(2 pi (t + phase) / (10 + 7 f)) +
   0.1 noise, phase uniform in [0, 100), from anomaly.h's PCG32 (so not
   the peer's numpy numbers; the same distribution).  Timing excludes data
   generation, model build and two warm-up forward/backward passes.
   Training runs the library's own pieces (an_lstm_loss_grad and
   an_adam_step on shuffled mini-batches), which is what an_detector_fit
   does inside, on the peer's independent windows instead of one series.
   GFLOP/s use the peer's count (gate and dense matrix products, training =
   3x forward), which includes the decoder's input projection at every
   step; this library computes that once per window (the input is
   repeated), so its real FLOP count is lower and the figure is a
   like-for-like "equivalent" rate.  The training line also gives the real
   rate and its share of the core's FP32 FMA peak, measured at start-up
   (extra RESULT keys: real_train_mflop_per_window, train_real_gflops,
   fma_peak_gflops, train_share_of_peak).  Single-threaded: --threads is
   accepted for compatibility and reported, but only 1 thread runs. */
#define _POSIX_C_SOURCE 199309L
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_lstm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

/* v as a JSON number (%.17g), or null for NaN and infinities, which JSON
   does not have; buf holds at least 32 chars. */
static const char *json_number(char *buf, double v)
{
    if (!(v - v == 0.0)) return "null";
    sprintf(buf, "%.17g", v);
    return buf;
}

typedef struct options {
    long T, F, H, N, B, epochs, threads, seed;
    double lr, eps, infer_seconds;
} options;

static int parse(int argc, char **argv, options *o)
{
    int i;
    o->T = 60; o->F = 1; o->H = 64; o->N = 2048; o->B = 32; o->epochs = 3; o->threads = 1; o->seed = 0;
    o->lr = 1e-3; o->eps = 1e-8; o->infer_seconds = 3.0;
    for (i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long *target = NULL;
        double *dtarget = NULL;
        if (!strcmp(a, "--T")) target = &o->T;
        else if (!strcmp(a, "--F")) target = &o->F;
        else if (!strcmp(a, "--H")) target = &o->H;
        else if (!strcmp(a, "--N")) target = &o->N;
        else if (!strcmp(a, "--B")) target = &o->B;
        else if (!strcmp(a, "--epochs")) target = &o->epochs;
        else if (!strcmp(a, "--threads")) target = &o->threads;
        else if (!strcmp(a, "--seed")) target = &o->seed;
        else if (!strcmp(a, "--lr")) dtarget = &o->lr;
        else if (!strcmp(a, "--eps")) dtarget = &o->eps;
        else if (!strcmp(a, "--infer-seconds")) dtarget = &o->infer_seconds;
        else {
            fprintf(stderr, "usage: lstm_ae [--T 60] [--F 1] [--H 64] [--N 2048] [--B 32] [--epochs 3] "
                            "[--threads 1] [--seed 0] [--lr 1e-3] [--eps 1e-8] [--infer-seconds 3]\n");
            return 0;
        }
        if (!v) { fprintf(stderr, "%s needs a value\n", a); return 0; }
        if (target) *target = strtol(v, NULL, 10);
        else *dtarget = strtod(v, NULL);
    }
    if (o->T < 1 || o->F < 1 || o->H < 1 || o->N < 1 || o->B < 1 || o->epochs < 0) {
        fprintf(stderr, "sizes must be positive\n");
        return 0;
    }
    return 1;
}

/* Windows/s of reconstructing X (N windows) in batches of B, repeated
   until min_seconds have passed (batch 1 may stop mid-pass). */
static double throughput(an_detector *d, const float *X, size_t N, size_t B, size_t TF, float *out,
                         double min_seconds)
{
    double t0 = bench_now(), n = 0.0;
    for (;;) {
        size_t i;
        for (i = 0; i < N; i += B) {
            size_t bs = N - i < B ? N - i : B;
            an_lstm_output(d, X + i * TF, bs, out);
            n += (double)bs;
            if (B == 1 && bench_now() - t0 > min_seconds) return n / (bench_now() - t0);
        }
        if (bench_now() - t0 > min_seconds) return n / (bench_now() - t0);
    }
}

int main(int argc, char **argv)
{
    options o;
    an_lstm_config c;
    an_detector *d = NULL;
    an_adam opt;
    an_rng rng;
    float *X, *batch, *out, *params, *grads;
    size_t *perm, T, F, H, N, B, TF, i, t, f, n_params, e;
    double fwd_flops, train_flops, real_train_flops, peak, t_train, last_loss = 0.0, final_mse = 0.0, wps_train, wps_B, wps_1, t0;
    char num1[32], num2[32];
    an_result r;
    if (!parse(argc, argv, &o)) return 2;
    T = (size_t)o.T; F = (size_t)o.F; H = (size_t)o.H; N = (size_t)o.N; B = (size_t)o.B;
    TF = T * F;
    X = (float *)malloc(N * TF * sizeof(float));
    batch = (float *)malloc(B * TF * sizeof(float));
    out = (float *)malloc(B * TF * sizeof(float));
    perm = (size_t *)malloc(N * sizeof(size_t));
    if (!X || !batch || !out || !perm) { fprintf(stderr, "out of memory\n"); return 1; }
    an_rng_seed(&rng, (uint64_t)o.seed, 0);
    for (i = 0; i < N; i++)
        for (f = 0; f < F; f++) {
            double phase = 100.0 * an_rng_uniform(&rng), period = 10.0 + 7.0 * (double)f;
            for (t = 0; t < T; t++)
                X[i * TF + t * F + f] = (float)(sin(2.0 * 3.14159265358979323846 * ((double)t + phase) / period) +
                                                0.1 * an_rng_normal(&rng));
        }

    c = an_lstm_ae_config_init(T, H);
    c.batch = B;
    c.scaler = (an_scaler_kind)0;   /* the peer trains on the raw windows */
    c.seed = (uint64_t)o.seed;
    c.train.adam = an_adam_config_init(o.lr);
    c.train.adam.eps = o.eps;
    if ((r = an_lstm_ae_create(&c, F, NULL, &d)) != AN_OK) { fprintf(stderr, "create: %s\n", an_result_str(r)); return 1; }
    an_lstm_param_view(d, "params", &params, &n_params);
    an_lstm_param_view(d, "grads", &grads, &n_params);
    if ((r = an_adam_init(&opt, &c.train.adam, n_params, NULL)) != AN_OK) { fprintf(stderr, "adam: %s\n", an_result_str(r)); return 1; }

    {   /* the peer's FLOP count per window */
        double macs = (double)T * (4.0 * H * (F + H) + 4.0 * H * (H + H) + (double)H * F);
        fwd_flops = 2.0 * macs;
        train_flops = 3.0 * fwd_flops;
        /* ours: the decoder's input projection once per window, not T
           times, and no recurrent product at t = 0 (h_{-1} = 0) in either layer */
        real_train_flops = 3.0 * 2.0 * (macs - (double)(T - 1) * 4.0 * H * H - 2.0 * 4.0 * H * H);
    }
    peak = bench_fma_peak_gflops();
    printf("anomaly.h %d.%d.%d simd=%s threads=1 (asked %ld)\n", ANOMALY_VERSION_MAJOR, ANOMALY_VERSION_MINOR,
           ANOMALY_VERSION_PATCH, an_simd_name(an_simd_path()), o.threads);
    printf("config T=%zu F=%zu H=%zu N=%zu B=%zu epochs=%ld params=%zu\n", T, F, H, N, B, o.epochs, n_params);

    for (i = 0; i < 2; i++) {   /* warm-up, no optimizer step */
        double loss;
        an_lstm_loss_grad(d, X, N < B ? N : B, &loss, NULL);
    }

    for (i = 0; i < N; i++) perm[i] = i;
    t0 = bench_now();
    for (e = 0; e < (size_t)o.epochs; e++) {
        double total = 0.0;
        an_rng_shuffle(&rng, perm, N);
        for (i = 0; i < N; i += B) {
            size_t bs = N - i < B ? N - i : B, k;
            double loss;
            for (k = 0; k < bs; k++) memcpy(batch + k * TF, X + perm[i + k] * TF, TF * sizeof(float));
            if ((r = an_lstm_loss_grad(d, batch, bs, &loss, NULL)) != AN_OK ||
                (r = an_adam_step(&opt, params, grads, NULL)) != AN_OK) {
                fprintf(stderr, "training: %s\n", an_result_str(r));
                return 1;
            }
            total += loss * (double)bs;
        }
        last_loss = total / (double)N;
        printf("epoch %zu loss %.5f\n", e + 1, last_loss);
    }
    t_train = bench_now() - t0;
    an_lstm_sync(d);   /* the last optimizer step was ours, outside the library */
    wps_train = o.epochs > 0 ? (double)N * (double)o.epochs / t_train : 0.0;

    {   /* final MSE over all windows */
        double sum = 0.0, loss;
        for (i = 0; i < N; i += B) {
            size_t bs = N - i < B ? N - i : B;
            if (an_lstm_output(d, X + i * TF, bs, out) != AN_OK ||
                an_loss(AN_LOSS_MSE, out, X + i * TF, bs * TF, 1, NULL, 0.0, &loss, NULL) != AN_OK)
                loss = HUGE_VAL - HUGE_VAL;   /* NaN: the network overflowed; RESULT says null */
            sum += loss * (double)bs;
        }
        final_mse = sum / (double)N;
    }
    wps_B = throughput(d, X, N, B, TF, out, o.infer_seconds);
    wps_1 = throughput(d, X, N, 1, TF, out, o.infer_seconds);

    printf("train: %.2f s, %.1f windows/s, %.2f GFLOP/s (%.2f MFLOP/window)\n", t_train, wps_train,
           wps_train * train_flops / 1e9, train_flops / 1e6);
    printf("train, real work: %.2f GFLOP/s (%.2f MFLOP/window), %.0f%% of this core's FP32 FMA peak %.1f GFLOP/s\n",
           wps_train * real_train_flops / 1e9, real_train_flops / 1e6, 100.0 * wps_train * real_train_flops / 1e9 / peak,
           peak);
    printf("final MSE on all windows (eval): %.5f\n", final_mse);
    printf("inference batch %zu: %.1f windows/s, %.2f GFLOP/s\n", B, wps_B, wps_B * fwd_flops / 1e9);
    printf("inference batch 1: %.1f windows/s, %.2f GFLOP/s\n", wps_1, wps_1 * fwd_flops / 1e9);
    printf("RESULT {\"T\": %zu, \"F\": %zu, \"H\": %zu, \"N\": %zu, \"B\": %zu, \"epochs\": %ld, \"threads\": 1, "
           "\"blas_threads\": 1, \"coretype\": null, \"blas\": \"none (anomaly.h %s kernels)\", "
           "\"train_seconds\": %.3f, \"train_windows_per_s\": %.2f, \"last_epoch_loss\": %s, "
           "\"final_mse\": %s, \"infer_B_windows_per_s\": %.2f, \"infer_1_windows_per_s\": %.2f, "
           "\"train_mflop_per_window\": %.6f, \"fwd_mflop_per_window\": %.6f, \"train_gflops\": %.3f, "
           "\"infer_B_gflops\": %.3f, \"infer_1_gflops\": %.3f, \"real_train_mflop_per_window\": %.6f, "
           "\"train_real_gflops\": %.3f, \"fma_peak_gflops\": %.2f, \"train_share_of_peak\": %.4f}\n",
           T, F, H, N, B, o.epochs, an_simd_name(an_simd_path()), t_train, wps_train, json_number(num1, last_loss),
           json_number(num2, final_mse), wps_B,
           wps_1, train_flops / 1e6, fwd_flops / 1e6, wps_train * train_flops / 1e9, wps_B * fwd_flops / 1e9,
           wps_1 * fwd_flops / 1e9, real_train_flops / 1e6, wps_train * real_train_flops / 1e9, peak,
           wps_train * real_train_flops / 1e9 / peak);
    an_adam_uninit(&opt);
    an_detector_destroy(d);
    free(X); free(batch); free(out); free(perm);
    return 0;
}
