#!/bin/sh
# bench/e2e.sh - make bench-e2e: the end-to-end benchmark as a user feels it.
# `anomaly detect` with its default hybrid (STL + IQR and the LSTM
# autoencoder: window 48, 32 units, at most 20 epochs, batch 32) against the
# seeds' Python pipeline doing the same job (bench/e2e_python.py: statsmodels
# STL + IQR and a PyTorch LSTM autoencoder of the same sizes, one thread), on
# one NAB file, in one run:
#   wall time        hyperfine, RUNS runs of each (3: torch training is slow)
#   peak RSS         /usr/bin/time's maximum resident set, the largest of the runs
#   model file       ours (--save: both members, calibrations, stream state)
#                    against torch.save of the autoencoder's state_dict + scaler
#   cold start       time to the first score of a saved model: each program
#                    as a process on a one-row (ours) or one-window (Python)
#                    input under hyperfine, and ours in process (bench/e2e_cold:
#                    read the file, load, push one row)
#   agreement        the flagged rows of the two (Jaccard, counts) and the
#                    overlap of their top 1% of rows by score
# Prints a table and a RESULT {json} line.  Skips, saying why, without the
# data, hyperfine, python3-torch or python3-statsmodels.
#
#   sh bench/e2e.sh                          # nyc_taxi from ../shared/data/nab
#   NAB=/path/to/nab FILE=realTraffic/speed_7578.csv RUNS=5 sh bench/e2e.sh
#   EPOCHS=1 RUNS=1 sh bench/e2e.sh          # a quick look (not the CLI's default)
here=$(cd "$(dirname "$0")" && pwd)   # <repo>/bench
root=$(cd "$here/.." && pwd)
NAB=${NAB:-$root/../shared/data/nab}
FILE=${FILE:-realKnownCause/nyc_taxi.csv}
ANOMALY=${ANOMALY:-$root/build/anomaly}
COLD=${COLD:-$here/e2e_cold}
PYTHON=${PYTHON:-/usr/bin/python3}
RUNS=${RUNS:-3}
KEEP=${KEEP:-}                        # a folder: the scored rows, models and timings are copied there
EPOCHS=${EPOCHS:-}                    # empty: the CLI's default (20) for both; a number: both, for a quick try
csv=$NAB/data/$FILE

skip() { echo "bench-e2e: skipped: $1"; exit 0; }
[ -f "$csv" ] || skip "no $csv (NAB=... names the NAB folder, FILE=... the file under its data/)"
command -v hyperfine > /dev/null 2>&1 || skip "no hyperfine (apt-get install hyperfine)"
[ -x /usr/bin/time ] || skip "no /usr/bin/time (apt-get install time)"
"$PYTHON" -c 'import torch' > /dev/null 2>&1 || skip "no PyTorch for $PYTHON (apt-get install python3-torch)"
"$PYTHON" -c 'import statsmodels' > /dev/null 2>&1 || skip "no statsmodels for $PYTHON (apt-get install python3-statsmodels)"
[ -x "$ANOMALY" ] && [ -x "$COLD" ] || { echo "bench-e2e: build $ANOMALY and $COLD first (make bench-e2e)"; exit 1; }

tmp=$(mktemp -d)
trap '[ -z "$KEEP" ] || { mkdir -p "$KEEP" && cp "$tmp"/* "$KEEP"/; }; rm -rf "$tmp"' EXIT
head -n 2 "$csv" > "$tmp/one.csv"        # the header and one row: ours continues the saved stream
first=$(sed -n 2p "$csv" | cut -d, -f2)
window=48
head -n $((window + 1)) "$csv" > "$tmp/window.csv"   # the Python model scores one whole window
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

echo "=== bench-e2e: $FILE ($(awk 'END { print NR - 1 }' "$csv") rows), $RUNS runs each"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(grep -c '^processor' /proc/cpuinfo) cores," \
     "$(grep -o 'avx[^ ]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "versions: $(${CC:-cc} --version | head -n 1); $("$PYTHON" -c 'import sys, torch, statsmodels;
print("python %s, torch %s, statsmodels %s" % (sys.version.split()[0], torch.__version__, statsmodels.__version__))');" \
     "$(hyperfine --version)"
echo "load before: $(uptime | sed 's/.*load average: //')"

ours="$ANOMALY detect --quiet ${EPOCHS:+--epochs $EPOCHS} --save $tmp/ours.anom $csv > $tmp/ours.csv"
theirs="$PYTHON $here/e2e_python.py detect $csv $tmp/theirs.csv $tmp/theirs.pt --window $window --units 32 --epochs ${EPOCHS:-20} --batch 32 2> $tmp/theirs.log"
hyperfine --style basic --runs "$RUNS" --export-json "$tmp/e2e.json" \
    -n anomaly "/usr/bin/time -f %M -a -o $tmp/rss_ours $ours" \
    -n python "/usr/bin/time -f %M -a -o $tmp/rss_theirs $theirs" || exit 1
cat "$tmp/theirs.log"
# no shell (-N): a few milliseconds are measured; the output goes to /dev/null
hyperfine --style basic -N --warmup 3 --runs 30 --export-json "$tmp/cold_ours.json" \
    -n "anomaly --load" "/usr/bin/time -f %M -a -o $tmp/rss_cold_ours $ANOMALY detect --quiet --load $tmp/ours.anom $tmp/one.csv" || exit 1
hyperfine --style basic -N --runs "$RUNS" --export-json "$tmp/cold_theirs.json" \
    -n "python cold" "/usr/bin/time -f %M -a -o $tmp/rss_cold_theirs $PYTHON $here/e2e_python.py cold $tmp/theirs.pt $tmp/window.csv" || exit 1
"$PYTHON" "$here/e2e_python.py" cold "$tmp/theirs.pt" "$tmp/window.csv" > /dev/null   # its own split of the time
"$COLD" "$tmp/ours.anom" "$first" 200 | tee "$tmp/cold_inproc.txt"
echo "load after: $(uptime | sed 's/.*load average: //')"

"$PYTHON" - "$tmp" "$FILE" << 'PY'
import json, os, re, sys
tmp, name = sys.argv[1], sys.argv[2]
def runs(path, k=0):
    r = json.load(open(os.path.join(tmp, path)))["results"][k]
    return r["mean"], r["stddev"] or 0.0, r["min"], r["user"], r["system"]
def rss(path):
    return max(int(l) for l in open(os.path.join(tmp, path)) if l.strip().isdigit()) / 1024.0
def flags(path, col):
    rows = [l.rstrip("\n").split(",") for l in open(os.path.join(tmp, path))][1:]
    return [float(r[col - 1]) for r in rows], {k for k, r in enumerate(rows) if r[col] == "1"}
ow, tw = runs("e2e.json", 0), runs("e2e.json", 1)
oc, tc = runs("cold_ours.json"), runs("cold_theirs.json")
orss, trss, ocrss, tcrss = rss("rss_ours"), rss("rss_theirs"), rss("rss_cold_ours"), rss("rss_cold_theirs")
osize, tsize = os.path.getsize(os.path.join(tmp, "ours.anom")), os.path.getsize(os.path.join(tmp, "theirs.pt"))
inproc = re.search(r"first (\d+) us, median (\d+) us, best (\d+) us", open(os.path.join(tmp, "cold_inproc.txt")).read())
first_us, median_us, best_us = (int(v) for v in inproc.groups())
os_, of = flags("ours.csv", 3)
ts_, tf = flags("theirs.csv", 2)
n = len(os_)
both, either = len(of & tf), len(of | tf)
jac = both / either if either else 1.0
top = max(1, n // 100)
rank = lambda s: set(sorted(range(n), key=lambda k: -s[k])[:top])
top_overlap = len(rank(os_) & rank(ts_)) / top
print()
print(f"| {name} | anomaly.h `anomaly detect` | Python (statsmodels + PyTorch) | ratio |")
print("|---|---:|---:|---:|")
print(f"| end to end, wall (mean of {len(json.load(open(os.path.join(tmp, 'e2e.json')))['results'][0]['times'])} runs) "
      f"| {ow[0]:.2f} s ± {ow[1]:.2f} | {tw[0]:.1f} s ± {tw[1]:.1f} | **{tw[0] / ow[0]:.0f}x** |")
print(f"| end to end, CPU (user + system) | {ow[3] + ow[4]:.2f} s | {tw[3] + tw[4]:.1f} s | {(tw[3] + tw[4]) / (ow[3] + ow[4]):.0f}x |")
print(f"| peak RSS | {orss:.1f} MB | {trss:.0f} MB | **{orss / trss:.3f}** |")
print(f"| model file | {osize:,} B (both members, calibrations, stream state) | {tsize:,} B (state_dict + scaler) | {osize / tsize:.2f} |")
print(f"| cold start, process: start, load, first score (mean; best) | {oc[0] * 1e3:.1f} ms; {oc[2] * 1e3:.1f} ms "
      f"| {tc[0] * 1e3:.0f} ms; {tc[2] * 1e3:.0f} ms | {tc[0] / oc[0]:.0f}x |")
print(f"| cold start, in process: read, load, first score (first; median) | {first_us / 1e3:.2f} ms; {median_us / 1e3:.2f} ms | | |")
print(f"| cold start peak RSS | {ocrss:.1f} MB | {tcrss:.0f} MB | |")
print(f"| rows flagged | {len(of)} | {len(tf)} | both {both}, Jaccard {jac:.2f} |")
print(f"| top 1% of rows by score ({top}) | | | {top_overlap:.0%} shared |")
print()
speed, mem, cold = tw[0] / ow[0], orss / trss, oc[0] * 1e3
print(f"targets: end to end >= 20x faster: {speed:.0f}x ({'met' if speed >= 20 else 'NOT met'}); peak RSS < 1/10: "
      f"{mem:.3f} ({'met' if mem < 0.1 else 'NOT met'}); cold start < 5 ms: process mean {cold:.1f} ms "
      f"({'met' if cold < 5 else 'NOT met'}), in process median {median_us / 1e3:.2f} ms "
      f"({'met' if median_us < 5000 else 'NOT met'})")
print("RESULT " + json.dumps(dict(
    bench="e2e", file=name, rows=n, wall_s=ow[0], wall_s_python=tw[0], speedup=round(speed, 2),
    cpu_s=ow[3] + ow[4], cpu_s_python=tw[3] + tw[4], peak_rss_mb=round(orss, 1), peak_rss_mb_python=round(trss, 1),
    model_bytes=osize, model_bytes_python=tsize, cold_ms=round(oc[0] * 1e3, 2), cold_ms_best=round(oc[2] * 1e3, 2),
    cold_ms_python=round(tc[0] * 1e3, 1), cold_inproc_first_ms=first_us / 1e3, cold_inproc_median_ms=median_us / 1e3,
    flagged=len(of), flagged_python=len(tf), flagged_both=both, jaccard=round(jac, 3), top1pct_overlap=round(top_overlap, 3))))
PY
