#!/usr/bin/env python3
"""What `make eval`'s synthetic part missed, event by event.

    python3 tools/eval_misses.py [WORK] [--kind K] [--mode unsup|trained]

WORK is eval's --work directory (default build/eval-work).  For every
synthetic file that eval wrote (WORK/synth/KIND_SHAPE_mMAG_SEED.csv, with
its true events beside it in .events and detect's output in .unsup.out and
.trained.out) it prints one line per mode: each true event found (1) or
missed (.), and each false event with its distance in rows to the nearest
true one.  Then a table of recall by kind and magnitude, and by kind and
shape.  Events are matched as eval matches them (runs of flags merged
across gaps of up to 3 rows, within 12 rows of a true event), so the
totals equal eval's.  Standard library only; reads, never writes.
"""
import argparse
import collections
import glob
import os
import signal

TOLERANCE, MERGE_GAP = 12, 3      # bench/eval.c's


def flags(path):
    with open(path) as f:
        next(f)
        return [int(line.rsplit(',', 1)[1]) != 0 for line in f]


def detected_events(flag):
    runs = []
    for i, on in enumerate(flag):
        if not on:
            continue
        if runs and i - runs[-1][1] <= MERGE_GAP + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def near(run, start, end):
    return run[0] <= end + TOLERANCE and run[1] + TOLERANCE >= start


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)      # quiet under head
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('work', nargs='?', default='build/eval-work')
    ap.add_argument('--kind', help='only files of this kind (spike, dip, ...)')
    ap.add_argument('--mode', choices=('unsup', 'trained'), help='only this mode')
    a = ap.parse_args()
    modes = (a.mode,) if a.mode else ('unsup', 'trained')
    by_mag = collections.defaultdict(lambda: [0, 0])      # (mode, kind, mag) -> found, events
    by_shape = collections.defaultdict(lambda: [0, 0])
    for csv in sorted(glob.glob(os.path.join(a.work, 'synth', '*.csv'))):
        name = os.path.basename(csv)
        if name.startswith('tele_') or not os.path.exists(csv + '.events'):
            continue
        kind, shape, mag = name[:-4].split('_')[:3]
        if a.kind and kind != a.kind:
            continue
        with open(csv + '.events') as f:
            truth = [(int(t[1]), int(t[2])) for t in (line.strip().split(',') for line in list(f)[1:])]
        for mode in modes:
            try:
                runs = detected_events(flags('%s.%s.out' % (csv, mode)))
            except (OSError, ValueError, IndexError, StopIteration):
                runs = []
            hits = ''.join('1' if any(near(r, s, e) for r in runs) else '.' for s, e in truth)
            false = []
            for r in runs:
                if not any(near(r, s, e) for s, e in truth):
                    gap = min(max(s - r[1], r[0] - e, 0) for s, e in truth)
                    false.append('%d-%d(%d away)' % (r[0], r[1], gap))
            print('%-40s %-7s %-6s %s' % (name, mode, hits, ' '.join(false)))
            for key, table in (((mode, kind, mag), by_mag), ((mode, kind, shape), by_shape)):
                table[key][0] += hits.count('1')
                table[key][1] += len(hits)
    for title, table in (('magnitude', by_mag), ('shape', by_shape)):
        print('\nfound / events by kind and %s' % title)
        for key in sorted(table):
            print('  %-8s %-10s %-12s %3d / %3d' % (key + tuple(table[key])))


if __name__ == '__main__':
    main()
