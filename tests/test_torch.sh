#!/bin/sh
# tests/test_torch.sh - a model trained in C loads into PyTorch with equal
# errors and writes back byte for byte (tools/torch_model.py check), on
# the files build/test_torch left in the scratch directory.  Runs where a
# python3 with torch is found ($PYTHON, python3, /usr/bin/python3);
# elsewhere it says it skipped.  Ends "test_torch_py: N passed, M failed".
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${ANOMALY_TEST_SCRATCH:-$root/build}
for py in "${PYTHON:-}" python3 /usr/bin/python3; do
    if [ -n "$py" ] && "$py" -c 'import torch' > /dev/null 2>&1; then
        "$py" "$root/tools/torch_model.py" check "$scratch/torch_c_model.anom" "$scratch/torch_c_outputs.txt"
        if [ $? = 0 ]; then echo "test_torch_py: 1 passed, 0 failed"; exit 0; fi
        echo "FAIL a C-trained model round-trips through PyTorch"
        echo "test_torch_py: 0 passed, 1 failed"
        exit 1
    fi
done
echo "test_torch_py: skipped (no python3 with torch)"
echo "test_torch_py: 0 passed, 0 failed"
