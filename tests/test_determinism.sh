#!/bin/sh
# tests/test_determinism.sh - one seed, one model file, whatever compiles it.
#
#   sh tests/test_determinism.sh [CC] [CLANG]
#
# Builds tests/determinism.c on the scalar path (-DANOMALY_NO_SIMD
# -ffp-contract=off) with each compiler at -O0 and -O2, runs each build
# twice, and requires every file byte for byte equal to the first.  Ends
# "test_determinism: N passed, M failed".
cc=${1:-cc} clang=${2:-clang}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
first=
for c in "$cc" "$clang"; do
    command -v "$c" > /dev/null 2>&1 || { echo "skip: $c not found"; continue; }
    for o in -O0 -O2; do
        b=$tmp/det_$(basename "$c")$o
        if ! "$c" -std=c99 -Wall -Wextra -pedantic -Werror -ffp-contract=off -DANOMALY_NO_SIMD $o \
             "$(dirname "$0")/determinism.c" -o "$b" -lm; then
            failed=$((failed + 1)); echo "FAIL build with $c $o"; continue
        fi
        for run in 1 2; do
            if ! "$b" "$b.$run.anom"; then failed=$((failed + 1)); echo "FAIL run $c $o ($run)"; continue; fi
            [ -n "$first" ] || first=$b.$run.anom
            if cmp -s "$first" "$b.$run.anom"; then passed=$((passed + 1)); else
                failed=$((failed + 1)); echo "FAIL $c $o run $run: not the bytes of $(basename "$first")"; fi
        done
    done
done
echo "test_determinism: $passed passed, $failed failed"
[ "$failed" = 0 ]
