#!/bin/sh
# bench/vae_compare.sh - bench/vae beside its PyTorch peer bench/vae_torch.py,
# same flags, one core each (taskset where there is one), one configuration
# per line of $CONFIGS, and the ratio of their seconds.  The peer runs only
# when python3 can import torch.
#
#   sh bench/vae_compare.sh
#   CONFIGS="--arch lstm --T 48 --H 32" sh bench/vae_compare.sh
here=$(cd "$(dirname "$0")" && pwd)   # <repo>/bench
VAE=${VAE:-$here/vae}
PYTHON=${PYTHON:-/usr/bin/python3}
COMMON=${COMMON:---N 2000 --L 8 --B 32 --epochs 5 --seed 1}
CONFIGS=${CONFIGS:-"--arch dense --T 48 --H 32
--arch lstm --T 48 --H 32"}
one=""
command -v taskset > /dev/null 2>&1 && one="taskset -c 0"
have_peer=0
"$PYTHON" -c 'import torch' > /dev/null 2>&1 && have_peer=1
[ "$have_peer" = 1 ] || echo "vae: no PyTorch (python3-torch); anomaly.h alone"
out=$(mktemp)
trap 'rm -f "$out" "$out.peer"' EXIT
echo "$CONFIGS" | while read -r cfg; do
    [ -n "$cfg" ] || continue
    echo "=== $cfg $COMMON"
    # shellcheck disable=SC2086
    $one "$VAE" $cfg $COMMON > "$out" || exit 1
    grep -v '^RESULT' "$out" | sed 's/^/  anomaly.h  /'
    [ "$have_peer" = 1 ] || continue
    # shellcheck disable=SC2086
    $one "$PYTHON" "$here/vae_torch.py" $cfg $COMMON > "$out.peer" || { echo "  peer failed"; continue; }
    grep -v '^RESULT' "$out.peer" | sed 's/^/  pytorch    /'
    "$PYTHON" - "$out" "$out.peer" << 'PY'
import json, sys
ours, theirs = (json.loads([l for l in open(p) if l.startswith("RESULT ")][-1][7:]) for p in sys.argv[1:3])
print(f"  anomaly.h is {theirs['seconds'] / ours['seconds']:.1f}x the peer's speed")
PY
done
