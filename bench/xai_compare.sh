#!/bin/sh
# bench/xai_compare.sh - bench/xai (Kernel SHAP and integrated gradients on
# the T = 60, H = 64 LSTM autoencoder) beside its PyTorch peer
# bench/xai_torch.py on the very model bench/xai trains (written to a
# temporary file), one core each (taskset where there is one), and the
# ratios of their RESULT lines.  The peer runs only when python3 can import
# torch; without it, bench/xai alone.
#
#   sh bench/xai_compare.sh
#   REPS=15 sh bench/xai_compare.sh
#   BLAS_DIR=/path/to/openblas-pthread sh bench/xai_compare.sh   # a libblas.so.3 for the peer
here=$(cd "$(dirname "$0")" && pwd)   # <repo>/bench
XAI=${XAI:-$here/../build/bench_xai}
PYTHON=${PYTHON:-/usr/bin/python3}
REPS=${REPS:-7}
one=""
command -v taskset > /dev/null 2>&1 && one="taskset -c 0"
out=$(mktemp)
trap 'rm -f "$out" "$out.peer" "$out.anom"' EXIT
$one "$XAI" "$REPS" "$out.anom" > "$out" || exit 1
grep -v '^RESULT' "$out" | sed 's/^/  anomaly.h  /'
if ! "$PYTHON" -c 'import torch' > /dev/null 2>&1; then
    echo "xai: no PyTorch ($PYTHON cannot import torch; python3-torch); anomaly.h alone"
    grep '^RESULT' "$out"
    exit 0
fi
if [ -n "$BLAS_DIR" ]; then LD_LIBRARY_PATH="$BLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; export LD_LIBRARY_PATH; fi
$one "$PYTHON" "$here/xai_torch.py" --model "$out.anom" --reps "$REPS" > "$out.peer" || { echo "  peer failed"; grep '^RESULT' "$out"; exit 0; }
sed 's/^/  pytorch    /' "$out.peer"
# Debian's torch runs on whichever libblas.so.3 is selected; the reference
# BLAS makes it about 10x slower here than OpenBLAS
grep -q '"blas": "OpenBLAS"' "$out.peer" ||
    echo "  note: the peer is not on OpenBLAS (apt-get install libopenblas0-pthread, or BLAS_DIR=): ratios overstate"
"$PYTHON" - "$out" "$out.peer" << 'PY'
import json, sys
def result(path):
    for line in open(path):
        if line.startswith("RESULT "):
            r = json.loads(line[7:])
    return r
ours, peer = result(sys.argv[1]), result(sys.argv[2])
if abs(ours["score_x"] - peer["score_x"]) > 1e-4 * abs(ours["score_x"]):
    print("  note: the two score the event differently (%.9g, %.9g): not the same model" % (ours["score_x"], peer["score_x"]))
rows = (("Kernel SHAP, 24 players, 2048 coalitions", "shap_24_players_2048_ms", "shap_median_ms",
         "shap_24_players_2048_ms", "shap_median_ms"),
        ("  the same, ours with the shifted fill", "shap_shifted_fill_best_ms", "shap_shifted_fill_median_ms",
         "shap_24_players_2048_ms", "shap_median_ms"),
        ("  ours against PyTorch's bare forward of 2048", "shap_24_players_2048_ms", "shap_median_ms",
         "forward_2048_b32_ms", "forward_2048_b32_median_ms"),
        ("integrated gradients, 64 steps", "ig_64_steps_ms", "ig_median_ms", "ig_64_steps_ms", "ig_median_ms"))
for label, ob, om, pb, pm in rows:
    print("  ratio %-46s best %7.1f / %7.1f ms = %5.1fx, median %7.1f / %7.1f ms = %5.1fx"
          % (label, ours[ob], peer[pb], peer[pb] / ours[ob], ours[om], peer[pm], peer[pm] / ours[om]))
PY
grep '^RESULT' "$out"
