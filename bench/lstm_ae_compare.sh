#!/bin/sh
# bench/lstm_ae_compare.sh - bench/lstm_ae beside the PyTorch peer, same
# flags, one configuration per line of $CONFIGS, and the ratios of their
# RESULT lines.  The peer runs only when python3 can import torch and the
# script exists (PEER, default <repo>/../shared/peers/lstm_ae_torch.py, found
# from this script's own folder, so any working directory will do).
#
#   sh bench/lstm_ae_compare.sh
#   CONFIGS="--T 60 --F 1 --H 64" sh bench/lstm_ae_compare.sh
here=$(cd "$(dirname "$0")" && pwd)   # <repo>/bench
PEER=${PEER:-$here/../../shared/peers/lstm_ae_torch.py}
LSTM_AE=${LSTM_AE:-$here/lstm_ae}
PYTHON=${PYTHON:-/usr/bin/python3}
COMMON=${COMMON:---N 2048 --B 32 --epochs 3 --threads 1 --seed 0}
CONFIGS=${CONFIGS:-"--T 60 --F 1 --H 64
--T 24 --F 1 --H 128
--T 256 --F 4 --H 64"}
have_peer=0
if [ -f "$PEER" ] && "$PYTHON" -c 'import torch' > /dev/null 2>&1; then have_peer=1; fi
[ "$have_peer" = 1 ] || echo "lstm_ae: no PyTorch peer ($PEER, python3-torch); anomaly.h alone"
out=$(mktemp)
trap 'rm -f "$out" "$out.peer"' EXIT
echo "$CONFIGS" | while read -r cfg; do
    [ -n "$cfg" ] || continue
    echo "=== $cfg $COMMON"
    # shellcheck disable=SC2086
    "$LSTM_AE" $cfg $COMMON > "$out" || exit 1
    grep -v '^RESULT' "$out" | sed 's/^/  anomaly.h  /'
    if [ "$have_peer" = 1 ]; then
        # shellcheck disable=SC2086
        "$PYTHON" "$PEER" $cfg $COMMON > "$out.peer" 2> /dev/null || { echo "  peer failed"; continue; }
        grep -v '^RESULT' "$out.peer" | sed 's/^/  pytorch    /'
        # Debian's torch runs on whichever libblas.so.3 is selected; the
        # reference BLAS makes it about 5x slower than with OpenBLAS
        grep -qi openblas "$out.peer" ||
            echo "  note: the peer is not on OpenBLAS (apt-get install libopenblas0-pthread): ratios overstate"
        "$PYTHON" - "$out" "$out.peer" << 'PY'
import json, sys
def result(path):
    for line in open(path):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
ours, peer = result(sys.argv[1]), result(sys.argv[2])
for key, label in (("train_windows_per_s", "training"), ("infer_B_windows_per_s", "inference batch B"),
                   ("infer_1_windows_per_s", "inference batch 1")):
    print("  ratio %-18s %9.1f / %9.1f windows/s = %5.2fx" % (label, ours[key], peer[key], ours[key] / peer[key]))
PY
    fi
    grep '^RESULT' "$out"
done
