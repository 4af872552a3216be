/* bench.h - what the benchmarks share: a monotonic clock.  Define
   _POSIX_C_SOURCE (199309L or later) before any include. */
#ifndef ANOMALY_BENCH_H
#define ANOMALY_BENCH_H

#include <time.h>

/* Seconds on a monotonic clock. */
static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
