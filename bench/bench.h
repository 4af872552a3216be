/* bench.h - what the benchmarks share: a monotonic clock and the core's
   measured FP32 FMA peak.  Define _POSIX_C_SOURCE (199309L or later)
   before any include. */
#ifndef ANOMALY_BENCH_H
#define ANOMALY_BENCH_H

#include <string.h>
#include <time.h>
#if defined(__AVX2__) || defined(__AVX512F__)
#  include <immintrin.h>
#elif defined(__ARM_NEON) && defined(__aarch64__)
#  include <arm_neon.h>
#endif

static volatile float bench_sink;   /* results land here, so no loop is optimised away */

/* Seconds on a monotonic clock. */
static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The core's FP32 FMA peak, measured: 12 independent chains of fused
   multiply-adds on the widest vectors this build has (enough in flight
   to cover the FMA latency on two ports; 12 plus the two operands fit
   AVX2's 16 registers, so none spills), written out so the chains stay
   in registers; GFLOP/s counting an FMA as 2.  Without vector FMAs it
   times scalar multiply-adds, which -ffp-contract=off keeps unfused.
   Inline only so that a benchmark not calling it draws no unused-function
   warning. */
#define BENCH__CHAINS(op) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11)
#if defined(__AVX512F__)
#  define BENCH__VEC __m512
#  define BENCH__LANES 16
#  define BENCH__SET1 _mm512_set1_ps
#  define BENCH__FMA(acc, a, b) _mm512_fmadd_ps(acc, a, b)
#  define BENCH__ADD _mm512_add_ps
#elif defined(__AVX2__) && defined(__FMA__)
#  define BENCH__VEC __m256
#  define BENCH__LANES 8
#  define BENCH__SET1 _mm256_set1_ps
#  define BENCH__FMA(acc, a, b) _mm256_fmadd_ps(acc, a, b)
#  define BENCH__ADD _mm256_add_ps
#elif defined(__ARM_NEON) && defined(__aarch64__)
#  define BENCH__VEC float32x4_t
#  define BENCH__LANES 4
#  define BENCH__SET1 vdupq_n_f32
#  define BENCH__FMA(acc, a, b) vfmaq_f32(b, acc, a)
#  define BENCH__ADD vaddq_f32
#else
#  define BENCH__VEC float
#  define BENCH__LANES 1
#  define BENCH__SET1(x) (x)
#  define BENCH__FMA(acc, a, b) ((acc) * (a) + (b))
#  define BENCH__ADD(x, y) ((x) + (y))
#endif
static inline double bench_fma_peak_gflops(void)
{
    const long iters = BENCH__LANES > 1 ? 50000000 : 10000000;
    float out[BENCH__LANES];
    double t0, t1;
    long i;
    BENCH__VEC a = BENCH__SET1(0.999999f), b = BENCH__SET1(1e-7f);
#define BENCH__DECL(k) BENCH__VEC acc##k = BENCH__SET1((float)k);
#define BENCH__STEP(k) acc##k = BENCH__FMA(acc##k, a, b);
#define BENCH__SUM(k) acc0 = k ? BENCH__ADD(acc0, acc##k) : acc0;
    BENCH__CHAINS(BENCH__DECL)
    t0 = bench_now();
    for (i = 0; i < iters; i++) { BENCH__CHAINS(BENCH__STEP) }
    t1 = bench_now();
    BENCH__CHAINS(BENCH__SUM)
    memcpy(out, &acc0, sizeof out);
    bench_sink = out[0];
    return 2.0 * 12.0 * BENCH__LANES * (double)iters / (t1 - t0) * 1e-9;
}

#endif
