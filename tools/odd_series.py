#!/usr/bin/env python3
"""Series unlike the benchmarks': what the defaults flag on them.

    python3 tools/odd_series.py [--bin build/anomaly] [--method hybrid] [--work DIR] [--seed 1]
                                [--train-rows N]

Writes 29 series of 5,000 five-minute rows (DIR, default build/odd-series)
that hold no injected anomaly, or one plain change where the name says so,
runs `BIN detect --method M` on each (fitted on the whole series, or with
--train-rows on its first N rows, taken as normal: the telemetry setting)
and prints the events and rows it flagged.  A series of noise alone should
give few events; a flood (dozens of events, hundreds of rows) on any of
them is a defect whatever the benchmarks say.  Kinds:
  ar1_09, randwalk, student3, lognormal       noise, no season
  poisson_low, poisson_daily                  counts
  sparse01, sparse05, sparse20                counts of mean 0.01, 0.05, 0.2
  pulses                                      0, and 1 every 333 rows
  binary, levels                              0/1 draws; three levels switching
  quantized                                   a daily cycle read to 0.1
  quantsine                                   a sine of 700 rows read to 7 levels, no noise
  sawjitter                                   a sawtooth whose period wanders, 330 to 470 rows
  longperiod, sawtooth, expgrowth             other shapes
  gaps                                        a daily cycle with 200 missing rows
  constant_then_noise                         5.0 for 3,000 rows, then noise of 0.2%
                                              (one change: its start)
  tiny                                        a daily cycle at 1e-9 (units of SI)
  square, sine, ramp                          no noise at all: a daily square wave
                                              of 20 / 80 (NAB's perfect square wave),
                                              a daily sine, a straight line
  idle                                        5.0 exactly, but for spells of 100 rows
                                              (45% of them) of noise of 0.2%: a pump
                                              idle between bursts
  dailyjob                                    a daily cycle, and a job of +6 (20 sd of
                                              the noise) once a day, +-6 rows
  modes                                       four levels, a switch every 300 rows on
                                              average, noise of 0.02
  counter                                     a count rising by Poisson(3) a row, reset
                                              to 0 past a limit of 800 to 1,200
  orbit                                       a cycle of 97.3 rows (no whole number),
                                              noise sd a tenth of its amplitude
Needs python3-numpy.  Used on 2026-12-06 to find the gap, short-training
and sparse-count behaviour in CHANGES; on 2026-12-07 the flood on a
series with no noise and the pulses flagged each time, and with
--train-rows the quantised cycle's steps voting each time they came back;
later that day a series idle between bursts flooded, fitted whole and
after a prefix (`idle`, `constant_then_noise`), and in the evening,
after a prefix, the returns of what training had shown (`dailyjob`,
`modes`, `counter`); late that evening a cycle of a fractional length
(`orbit`).
"""
import argparse
import itertools
import os
import re
import subprocess

import numpy as np


def series(rng, n=5000):
    t = np.arange(n)
    day = np.sin(2 * np.pi * t / 288)
    out = {}
    out['ar1_09'] = np.array(list(itertools.accumulate(rng.normal(0, 1, n), lambda a, b: 0.9 * a + b)))
    out['randwalk'] = np.cumsum(rng.normal(0, 1, n))
    out['student3'] = rng.standard_t(3, n)
    out['lognormal'] = rng.lognormal(0, 1, n)
    out['poisson_low'] = rng.poisson(0.8, n).astype(float)
    out['poisson_daily'] = rng.poisson(3 + 2.5 * day).astype(float)
    for lam, name in ((0.01, 'sparse01'), (0.05, 'sparse05'), (0.2, 'sparse20')):
        out[name] = rng.poisson(lam, n).astype(float)
    out['pulses'] = (t % 333 == 100).astype(float)
    out['binary'] = (rng.random(n) < 0.3).astype(float)
    out['levels'] = (np.cumsum(rng.random(n) < 0.005) % 3) * 2.0 + rng.normal(0, 0.05, n)
    out['quantized'] = np.round(20 + day + rng.normal(0, 0.02, n), 1)
    out['quantsine'] = np.round(3 * np.sin(2 * np.pi * t / 700)) / 3
    out['sawjitter'] = np.cumsum(1 / (400 + 70 * np.sin(t / 800))) % 1 + rng.normal(0, 0.005, n)
    out['longperiod'] = 10 * np.sin(2 * np.pi * t / 1000) + rng.normal(0, 1, n)
    out['sawtooth'] = (t % 288) / 28.8 + rng.normal(0, 0.2, n)
    out['expgrowth'] = np.exp(t / 2000) + rng.normal(0, 0.1, n)
    g = 10 * day + rng.normal(0, 1, n)
    g[1500:1700] = np.nan
    out['gaps'] = g
    out['constant_then_noise'] = np.where(t < 3000, 5.0, 5 + rng.normal(0, 0.01, n))
    out['tiny'] = 1e-9 * (day + rng.normal(0, 0.05, n))
    out['square'] = np.where(t % 288 < 144, 80.0, 20.0)
    out['sine'] = 50 + 10 * day
    out['ramp'] = 0.01 * t
    spell = np.repeat(rng.random(n // 100 + 1) < 0.45, 100)[:n]        # running 45% of the time
    out['idle'] = np.where(spell, 5 + rng.normal(0, 0.01, n), 5.0)
    job = 10 + 3 * day + rng.normal(0, 0.3, n)
    job[np.arange(0, n - 200, 288) + 100 + rng.integers(-6, 7, len(range(0, n - 200, 288)))] += 6
    out['dailyjob'] = job
    switch = rng.random(n) < 1 / 300
    mode = rng.integers(0, 4, n)
    held = np.maximum.accumulate(np.where(switch, t, 0))                 # the row of the last switch
    out['modes'] = np.array([0.0, 1.0, 2.5, 4.0])[mode[held]] + rng.normal(0, 0.02, n)
    count, limit, c = np.empty(n), rng.uniform(800, 1200), 0.0
    for i, step in enumerate(rng.poisson(3, n)):
        c += step
        if c > limit:
            c, limit = 0.0, rng.uniform(800, 1200)
        count[i] = c
    out['counter'] = count
    orbit = 2 * np.pi * t / 97.3
    out['orbit'] = 10 * np.sin(orbit) + 3 * np.sin(2 * orbit + 1) + rng.normal(0, 1, n)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', default='build/anomaly')
    ap.add_argument('--method', default='hybrid')
    ap.add_argument('--work', default='build/odd-series')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--train-rows', type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    train = ['--train-rows', str(a.train_rows)] if a.train_rows else []
    print('%s --method %s, seed %d%s' % (a.bin, a.method, a.seed, ', --train-rows %d' % a.train_rows if train else ''))
    for name, v in series(np.random.default_rng(a.seed)).items():
        path = os.path.join(a.work, name + '.csv')
        with open(path, 'w') as f:
            f.write('timestamp,value\n')
            for i, x in enumerate(v):
                f.write('%d,%s\n' % (1600000000 + 300 * i, 'nan' if np.isnan(x) else '%.6g' % x))
        r = subprocess.run([a.bin, 'detect', '--method', a.method] + train + [path], capture_output=True, text=True)
        last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''
        m = re.match(r'(\d+) events?, (\d+) of (\d+) rows flagged', last)
        told = '%4s events %5s rows' % (m.group(1), m.group(2)) if m else 'exit %d: %s' % (r.returncode, last)
        print('  %-20s %s' % (name, told))


if __name__ == '__main__':
    main()
