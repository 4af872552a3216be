#!/usr/bin/env python3
"""Short series: lone spikes found, and rows flagged on clean noise.

    python3 tools/short_series.py [--bin build/anomaly] [--method stl] [--work DIR] [--sizes 120,200,365]

Writes 120 series with one spike and 240 clean ones (DIR, default
build/short-series), runs `BIN detect --method M --quiet` on each and
prints what it found.  Each series has 120, 200 or 365 rows (--sizes).
  spikes: 100 + 10 sin(2 pi t / 7) + 2 N(0, 1), one row at 60% of the
          length moved by 2 k (k = 5, 6, 8, 12 noise sds, alternating
          sign), seeds 1-10 (numpy's default_rng(seed + 100)); also with
          Student-t(3) noise in place of the normal
  clean:  the weekly cycle with 2 t(3), 5 lognormal(0, 1) or 2 N(0, 1)
          noise, or Poisson counts of mean 5 + 3 sin(2 pi t / 7); seeds
          1-20
A spike counts when its row is flagged; "other" counts every other flag.
The calibration's exponential tail under 500 scores (CHANGES) was judged
on these.  Needs python3-numpy.
"""
import argparse
import os
import subprocess

import numpy as np


def write(path, v):
    with open(path, 'w') as f:
        f.write('timestamp,value\n')
        for i, x in enumerate(v):
            f.write('%d,%.5f\n' % (i, x))


def flags(binary, method, path):
    out = subprocess.run([binary, 'detect', '--method', method, '--quiet', path],
                         check=True, capture_output=True, text=True).stdout.splitlines()[1:]
    return [i for i, line in enumerate(out) if line.rsplit(',', 1)[1] == '1']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', default='build/anomaly')
    ap.add_argument('--method', default='stl')
    ap.add_argument('--work', default='build/short-series')
    ap.add_argument('--sizes', default='120,200,365')
    a = ap.parse_args()
    sizes = [int(v) for v in a.sizes.split(',')]
    os.makedirs(a.work, exist_ok=True)
    found, total, other = {}, {}, 0
    clean_rows, clean_files = {}, {}
    for n in sizes:
        t = np.arange(n)
        week = 10 * np.sin(2 * np.pi * t / 7)
        for seed in range(1, 11):
            for k in (5, 6, 8, 12):
                for noise in ('normal', 't3'):
                    rng = np.random.default_rng(seed + 100)
                    v = 100 + week + 2 * (rng.normal(0, 1, n) if noise == 'normal' else rng.standard_t(3, n))
                    at = int(n * 0.6)
                    v[at] += 2 * k * (1 if seed % 2 else -1)
                    path = os.path.join(a.work, 'spike_%s_%d_%d_%d.csv' % (noise, n, k, seed))
                    write(path, v)
                    f = flags(a.bin, a.method, path)
                    found[noise] = found.get(noise, 0) + (at in f)
                    total[noise] = total.get(noise, 0) + 1
                    other += len(f) - (at in f)
        for seed in range(1, 21):
            for kind in ('t3', 'lognormal', 'poisson', 'normal'):
                rng = np.random.default_rng(seed)
                if kind == 't3':
                    v = 100 + week + 2 * rng.standard_t(3, n)
                elif kind == 'lognormal':
                    v = 100 + week + 5 * rng.lognormal(0, 1, n)
                elif kind == 'poisson':
                    v = rng.poisson(5 + 3 * np.sin(2 * np.pi * t / 7)).astype(float)
                else:
                    v = 100 + week + 2 * rng.normal(0, 1, n)
                path = os.path.join(a.work, 'clean_%s_%d_%d.csv' % (kind, n, seed))
                write(path, v)
                f = flags(a.bin, a.method, path)
                clean_rows[kind] = clean_rows.get(kind, 0) + len(f)
                clean_files[kind] = clean_files.get(kind, 0) + (len(f) > 0)
    print('%s --method %s' % (a.bin, a.method))
    for noise in ('normal', 't3'):
        print('  spikes, %-6s noise: %3d of %d found' % (noise, found[noise], total[noise]))
    print('  other rows flagged in the spike series: %d' % other)
    for kind in ('t3', 'lognormal', 'poisson', 'normal'):
        print('  clean %-9s: %3d rows flagged, in %2d of %d series' % (kind, clean_rows[kind], clean_files[kind],
                                                                     20 * len(sizes)))


if __name__ == '__main__':
    main()
