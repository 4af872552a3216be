/* bench_kernels.c - the kernels at the shapes an LSTM uses, vector path
   against the scalar reference: the same plain loops, compiled by the same
   compiler with the same flags (-O2 may auto-vectorise the simple ones).

     build/bench_kernels [--H 64] [--B 32] [--seconds 0.2]

   Prints one line per kernel (GFLOP/s of both, and the speed-up), the
   largest error of an_sigmoid and an_tanh against double-precision libm on
   400,001 points over [-20, 20] (absolute, and relative in float ulps for
   tanh), and a final RESULT {json} line.  Times are the best of five runs
   of at least `seconds` each. */
#define _POSIX_C_SOURCE 199309L
#define ANOMALY_IMPLEMENTATION
#include "../anomaly.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

typedef struct job {
    const char *name;
    int kind;                 /* which kernel */
    size_t M, N, K;
    double flops;             /* per call */
} job;

enum { DOT, AXPY, GEMV, GEMV_T, GEMM_NT, GEMM_NN, GEMM_TN, SIGMOID, TANH, GATES };

static float *A, *B, *C, *X, *Y;

static void call(const job *j, int vector)
{
    switch (j->kind) {
    case DOT:     bench_sink = vector ? an_dot(j->N, X, Y) : an_dot_scalar(j->N, X, Y); break;
    case AXPY:    if (vector) an_axpy(j->N, 0.5f, X, Y); else an_axpy_scalar(j->N, 0.5f, X, Y); break;
    case GEMV:    if (vector) an_gemv(j->M, j->N, A, j->N, X, Y); else an_gemv_scalar(j->M, j->N, A, j->N, X, Y); break;
    case GEMV_T:  if (vector) an_gemv_t(j->M, j->N, A, j->N, X, Y); else an_gemv_t_scalar(j->M, j->N, A, j->N, X, Y); break;
    case GEMM_NT:
        if (vector) an_gemm_nt(j->M, j->N, j->K, A, j->K, B, j->K, C, j->N);
        else an_gemm_nt_scalar(j->M, j->N, j->K, A, j->K, B, j->K, C, j->N);
        break;
    case GEMM_NN:
        if (vector) an_gemm_nn(j->M, j->N, j->K, A, j->K, B, j->N, C, j->N);
        else an_gemm_nn_scalar(j->M, j->N, j->K, A, j->K, B, j->N, C, j->N);
        break;
    case GEMM_TN:
        if (vector) an_gemm_tn(j->M, j->N, j->K, A, j->M, B, j->N, C, j->N);
        else an_gemm_tn_scalar(j->M, j->N, j->K, A, j->M, B, j->N, C, j->N);
        break;
    case SIGMOID: if (vector) an_sigmoid(j->N, X, Y); else an_sigmoid_scalar(j->N, X, Y); break;
    case TANH:    if (vector) an_tanh(j->N, X, Y); else an_tanh_scalar(j->N, X, Y); break;
    case GATES:   if (vector) an_lstm_gates(j->M, j->N, C, 4 * j->N); else an_lstm_gates_scalar(j->M, j->N, C, 4 * j->N); break;
    }
}

/* Seconds per call: best of five runs of at least `seconds`. */
static double time_call(const job *j, int vector, double seconds)
{
    double best = 1e30;
    int run;
    for (run = 0; run < 5; run++) {
        long calls = 0;
        double t0 = bench_now(), t;
        do { call(j, vector); calls++; } while ((t = bench_now() - t0) < seconds);
        if (t / (double)calls < best) best = t / (double)calls;
        if (j->kind == GATES) { size_t i; for (i = 0; i < j->M * 4 * j->N; i++) C[i] = (float)(i % 13) - 6.0f; }
    }
    return best;
}

/* Largest |f(x) - libm(x)| over 400,001 evenly spaced x in [-20, 20], and
   for tanh (nonzero outputs) the largest error in float ulps of the
   reference. */
static void activation_error(int tanh_fn, double *abs_err, double *ulp_err)
{
    enum { N = 400001 };
    float *x = (float *)malloc(N * sizeof(float)), *y = (float *)malloc(N * sizeof(float));
    size_t i;
    *abs_err = *ulp_err = 0.0;
    if (!x || !y) { free(x); free(y); *abs_err = *ulp_err = -1.0; return; }
    for (i = 0; i < N; i++) x[i] = (float)(-20.0 + 40.0 * (double)i / (N - 1));
    if (tanh_fn) an_tanh(N, x, y); else an_sigmoid(N, x, y);
    for (i = 0; i < N; i++) {
        double ref = tanh_fn ? tanh((double)x[i]) : 1.0 / (1.0 + exp(-(double)x[i]));
        double e = fabs((double)y[i] - ref);
        if (e > *abs_err) *abs_err = e;
        if (tanh_fn && ref != 0.0) {
            int ex;
            double ulp;
            frexp(ref, &ex);
            ulp = ldexp(1.0, ex - 24);
            if (e / ulp > *ulp_err) *ulp_err = e / ulp;
        }
    }
    free(x);
    free(y);
}

int main(int argc, char **argv)
{
    size_t H = 64, Bt = 32, i, n_jobs;
    double seconds = 0.2;
    job jobs[10];
    int k;
    for (k = 1; k + 1 < argc; k += 2) {
        if (!strcmp(argv[k], "--H")) H = (size_t)atol(argv[k + 1]);
        else if (!strcmp(argv[k], "--B")) Bt = (size_t)atol(argv[k + 1]);
        else if (!strcmp(argv[k], "--seconds")) seconds = atof(argv[k + 1]);
        else { fprintf(stderr, "usage: %s [--H 64] [--B 32] [--seconds 0.2]\n", argv[0]); return 2; }
    }
    if (H == 0 || Bt == 0 || seconds <= 0) { fprintf(stderr, "bad arguments\n"); return 2; }
    {
        size_t G = 4 * H;
        job list[10] = {
            { "dot           n=4H",               DOT,     1, 0, 0, 0 },
            { "axpy          n=4H",               AXPY,    1, 0, 0, 0 },
            { "gemv    (4H,H) x(H)",              GEMV,    0, 0, 0, 0 },
            { "gemv_t  (4H,H)^T x(4H)",           GEMV_T,  0, 0, 0, 0 },
            { "gemm_nt (B,H) (4H,H)^T  forward",  GEMM_NT, 0, 0, 0, 0 },
            { "gemm_nn (B,4H) (4H,H)   dx",       GEMM_NN, 0, 0, 0, 0 },
            { "gemm_tn (B,4H)^T (B,H)  dW",       GEMM_TN, 0, 0, 0, 0 },
            { "sigmoid       n=B*4H",             SIGMOID, 1, 0, 0, 0 },
            { "tanh          n=B*4H",             TANH,    1, 0, 0, 0 },
            { "lstm_gates    (B,4H)",             GATES,   0, 0, 0, 0 },
        };
        memcpy(jobs, list, sizeof list);
        jobs[0].N = G;                     jobs[0].flops = 2.0 * G;
        jobs[1].N = G;                     jobs[1].flops = 2.0 * G;
        jobs[2].M = G; jobs[2].N = H;      jobs[2].flops = 2.0 * G * H;
        jobs[3].M = G; jobs[3].N = H;      jobs[3].flops = 2.0 * G * H;
        jobs[4].M = Bt; jobs[4].N = G; jobs[4].K = H;  jobs[4].flops = 2.0 * Bt * G * H;
        jobs[5].M = Bt; jobs[5].N = H; jobs[5].K = G;  jobs[5].flops = 2.0 * Bt * G * H;
        jobs[6].M = G; jobs[6].N = H; jobs[6].K = Bt;  jobs[6].flops = 2.0 * Bt * G * H;
        jobs[7].N = Bt * G;                jobs[7].flops = (double)(Bt * G);   /* "flops" = elements */
        jobs[8].N = Bt * G;                jobs[8].flops = (double)(Bt * G);
        jobs[9].M = Bt; jobs[9].N = H;     jobs[9].flops = (double)(Bt * G);
        n_jobs = 10;
        A = (float *)malloc(G * G * sizeof(float) + Bt * G * sizeof(float));
        B = (float *)malloc(G * G * sizeof(float) + Bt * G * sizeof(float));
        C = (float *)malloc(G * G * sizeof(float) + Bt * G * sizeof(float));
        X = (float *)malloc(Bt * G * sizeof(float));
        Y = (float *)malloc(Bt * G * sizeof(float));
        for (i = 0; i < G * G + Bt * G; i++) { A[i] = (float)(i % 7) * 0.01f; B[i] = (float)(i % 5) * 0.01f; C[i] = 0.0f; }
        for (i = 0; i < Bt * G; i++) { X[i] = (float)(i % 11) * 0.1f - 0.5f; Y[i] = 0.0f; }
        for (i = 0; i < Bt * G; i++) C[i] = (float)(i % 13) - 6.0f;
    }
    printf("anomaly.h kernels, SIMD path %s, H=%zu B=%zu (GFLOP/s; for activations Gelem/s)\n",
           an_simd_name(an_simd_path()), H, Bt);
    printf("%-34s %10s %10s %9s\n", "kernel", "scalar", "vector", "speed-up");
    {
        double peak = bench_fma_peak_gflops();
        char json[4096];
        size_t used = 0;
        printf("%-34s %21.2f   (the widest FMA this build has, one core)\n", "fma peak", peak);
        used += (size_t)snprintf(json + used, sizeof json - used,
                                 "{\"simd\": \"%s\", \"H\": %zu, \"B\": %zu, \"fma_peak_gflops\": %.2f, \"kernels\": {",
                                 an_simd_name(an_simd_path()), H, Bt, peak);
        for (i = 0; i < n_jobs; i++) {
            double ts = time_call(&jobs[i], 0, seconds), tv = time_call(&jobs[i], 1, seconds);
            char key[32];
            size_t c = 0;
            const char *p = jobs[i].name;
            while (*p && *p != ' ' && c + 1 < sizeof key) key[c++] = *p++;
            key[c] = 0;
            printf("%-34s %10.2f %10.2f %8.1fx\n", jobs[i].name, jobs[i].flops / ts * 1e-9, jobs[i].flops / tv * 1e-9, ts / tv);
            used += (size_t)snprintf(json + used, sizeof json - used, "%s\"%s\": {\"scalar_gflops\": %.3f, \"vector_gflops\": %.3f, \"speedup\": %.2f}",
                                     i ? ", " : "", key, jobs[i].flops / ts * 1e-9, jobs[i].flops / tv * 1e-9, ts / tv);
        }
        {
            double sig_abs, sig_ulp, tanh_abs, tanh_ulp;
            activation_error(0, &sig_abs, &sig_ulp);
            activation_error(1, &tanh_abs, &tanh_ulp);
            printf("sigmoid max error vs libm: %.2g absolute; tanh: %.2g absolute, %.2f ulp relative\n",
                   sig_abs, tanh_abs, tanh_ulp);
            snprintf(json + used, sizeof json - used,
                     "}, \"sigmoid_max_abs_error\": %.3g, \"tanh_max_abs_error\": %.3g, \"tanh_max_ulp_error\": %.3g}",
                     sig_abs, tanh_abs, tanh_ulp);
        }
        printf("RESULT %s\n", json);
    }
    free(A); free(B); free(C); free(X); free(Y);
    return 0;
}
