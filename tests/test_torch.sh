#!/bin/sh
# tests/test_torch.sh - models trained in C (an autoencoder, a forecaster)
# load into PyTorch with equal errors and write back byte for byte
# (tools/torch_model.py check), on the files build/test_torch left in the
# scratch directory.  Runs where a python3 with torch is found ($PYTHON,
# python3, /usr/bin/python3); elsewhere it says it skipped.  Ends
# "test_torch_py: N passed, M failed".
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${ANOMALY_TEST_SCRATCH:-$root/build}
for py in "${PYTHON:-}" python3 /usr/bin/python3; do
    if [ -n "$py" ] && "$py" -c 'import torch' > /dev/null 2>&1; then
        pass=0 fail=0
        for m in model forecaster; do
            out=outputs
            [ $m = model ] || out=${m}_outputs
            if "$py" "$root/tools/torch_model.py" check "$scratch/torch_c_$m.anom" "$scratch/torch_c_$out.txt"; then
                pass=$((pass + 1))
            else
                echo "FAIL a C-trained $m round-trips through PyTorch"
                fail=$((fail + 1))
            fi
        done
        echo "test_torch_py: $pass passed, $fail failed"
        [ $fail = 0 ]
        exit
    fi
done
echo "test_torch_py: skipped (no python3 with torch)"
echo "test_torch_py: 0 passed, 0 failed"
