#!/usr/bin/python3
"""statsmodels' STL timed on the case bench/stl runs, for bench/stl_compare.sh.

  python3 bench/peers/stl_statsmodels.py N PERIOD SWINDOW|periodic ROBUST(0|1) [REPEAT]

R's defaults for the seasonal window are written out for statsmodels as in
../shared/peers/stl_statsmodels.py (seasonal degree 0, jumps ceil(window/10),
inner 2 / outer 0, robust inner 1 / outer 15; "periodic" = window 10n+1 and
the seasonal replaced by its cycle mean; odd periods use low_pass = period + 2).
Prints RESULT {"impl": "statsmodels", "n", "period", "robust", "seconds_per_call"},
the median over REPEAT samples, each k calls lasting >= 0.1 s.
"""
import math
import sys
import time

import numpy as np
from statsmodels.tsa.seasonal import STL


def nextodd(x):
    x = int(round(x))
    return x + 1 if x % 2 == 0 else x


def main():
    n, period = int(float(sys.argv[1])), int(sys.argv[2])
    periodic, robust = sys.argv[3] == 'periodic', sys.argv[4] == '1'
    reps = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    rng = np.random.RandomState(1)
    t = np.arange(1, n + 1)
    x = 2 * t / n + np.sin(2 * np.pi * t / period) + 0.3 * np.cos(4 * np.pi * t / period) + rng.normal(0, 0.2, n)
    sw = 10 * n + 1 if periodic else int(sys.argv[3])
    tw = nextodd(math.ceil(1.5 * period / (1 - 1.5 / sw)))
    lw = nextodd(period)
    if lw <= period:
        lw = period + 2
    stl_kw = dict(seasonal=sw, trend=tw, low_pass=lw, seasonal_deg=0, trend_deg=1, low_pass_deg=1,
                  seasonal_jump=math.ceil(sw / 10), trend_jump=math.ceil(tw / 10),
                  low_pass_jump=math.ceil(lw / 10), robust=robust)
    fit_kw = dict(inner_iter=1 if robust else 2, outer_iter=15 if robust else 0)
    pos = np.arange(n) % period

    def call():
        res = STL(x, period=period, **stl_kw).fit(**fit_kw)
        if periodic:
            s = np.asarray(res.seasonal)
            s = (np.bincount(pos, s) / np.bincount(pos))[pos]
        return res

    k = 1
    while True:  # warm-up, and k calls lasting >= 0.1 s
        t0 = time.perf_counter()
        for _ in range(k):
            call()
        if time.perf_counter() - t0 >= 0.1:
            break
        k *= 2
    el = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(k):
            call()
        el.append((time.perf_counter() - t0) / k)
    print('RESULT {"impl": "statsmodels", "n": %d, "period": %d, "robust": %d, "seconds_per_call": %.6g}'
          % (n, period, int(robust), float(np.median(el))), flush=True)


if __name__ == '__main__':
    main()
