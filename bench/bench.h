/* bench.h - what the benchmarks share: a monotonic clock and the core's
   measured FP32 FMA peak.  Define _POSIX_C_SOURCE (199309L or later)
   before any include. */
#ifndef ANOMALY_BENCH_H
#define ANOMALY_BENCH_H

#include <string.h>
#include <time.h>
#if defined(__AVX2__) || defined(__AVX512F__)
#  include <immintrin.h>
#endif

static volatile float bench_sink;   /* results land here, so no loop is optimised away */

/* Seconds on a monotonic clock. */
static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The core's FP32 FMA peak, measured: 16 independent chains of fused
   multiply-adds on the widest vectors this build has (enough in flight
   to cover the FMA latency on every port), written out so the chains
   stay in registers; GFLOP/s counting an FMA as 2.  Inline only so that
   a benchmark not calling it draws no unused-function warning. */
#define FMA16(op) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11) op(12) op(13) op(14) op(15)
static inline double bench_fma_peak_gflops(void)
{
    const long iters = 50000000;
    double t0, t1;
    long i;
#if defined(__AVX512F__)
#  define VEC __m512
#  define LANES 16
#  define SET1 _mm512_set1_ps
#  define FMA _mm512_fmadd_ps
#  define ADD _mm512_add_ps
#elif defined(__AVX2__) && defined(__FMA__)
#  define VEC __m256
#  define LANES 8
#  define SET1 _mm256_set1_ps
#  define FMA _mm256_fmadd_ps
#  define ADD _mm256_add_ps
#endif
#ifdef VEC
    float out[LANES];
    VEC a = SET1(0.999999f), b = SET1(1e-7f);
#  define DECL(k) VEC acc##k = SET1((float)k);
#  define STEP(k) acc##k = FMA(acc##k, a, b);
#  define SUM(k) acc0 = k ? ADD(acc0, acc##k) : acc0;
    FMA16(DECL)
    t0 = bench_now();
    for (i = 0; i < iters; i++) { FMA16(STEP) }
    t1 = bench_now();
    FMA16(SUM)
    memcpy(out, &acc0, sizeof out);
    bench_sink = out[0];
    return 2.0 * 16.0 * LANES * (double)iters / (t1 - t0) * 1e-9;
#else
    float a = 0.999999f, b = 1e-7f;
#  define DECL(k) float acc##k = (float)k;
#  define STEP(k) acc##k = acc##k * a + b;
#  define SUM(k) acc0 += k ? acc##k : 0.0f;
    FMA16(DECL)
    t0 = bench_now();
    for (i = 0; i < iters / 8; i++) { FMA16(STEP) }
    t1 = bench_now();
    FMA16(SUM)
    bench_sink = acc0;
    return 2.0 * 16.0 * (double)(iters / 8) / (t1 - t0) * 1e-9;
#endif
}
#undef FMA16
#undef DECL
#undef STEP
#undef SUM
#ifdef VEC
#  undef VEC
#  undef LANES
#  undef SET1
#  undef FMA
#  undef ADD
#endif

#endif
