#!/bin/sh
# tests/test_determinism.sh - one seed, one model file, whatever compiles it;
# and the SIMD paths within a stated tolerance of the scalar one.
#
#   sh tests/test_determinism.sh [CC] [CLANG]
#
# 1. Builds tests/determinism.c on the scalar path (-DANOMALY_NO_SIMD
#    -ffp-contract=off) with each compiler at -O0 and -O2, runs each build
#    twice, and requires every file byte for byte equal to the first.
# 2. Builds it with CC -O2 for each vector path this CPU runs (AVX2 + FMA,
#    AVX-512) and checks, against the scalar build's scores of the series
#    (3 models x 600 rows):
#    - bit equality within the path: two runs write the same file;
#    - inference, TOL_SCORE: the scalar path's model files, loaded by the
#      vector build, score within TOL_SCORE (1e-5) of |a - b| / (1 + |b|).
#      The kernels agree to a few ulps of the sum of |terms| (anomaly.h,
#      section 3), and a score is a short chain of them;
#    - training, TOL_TRAIN: the vector path's own training (3 epochs of
#      Adam on its own rounding) scores within TOL_TRAIN (1e-4) of the
#      scalar path's scores, by the same measure.  Rounding differences
#      in the gradients move the weights, so this bound is looser (AVX2
#      measured 2e-7 on a Zen 5 with gcc 12); the isolation forest uses
#      no vector kernel and must match exactly.
#    Each comparison prints its largest difference.
# Ends "test_determinism: N passed, M failed".
cc=${1:-cc} clang=${2:-clang}
TOL_SCORE=${TOL_SCORE:-1e-5}
TOL_TRAIN=${TOL_TRAIN:-1e-4}
src="$(dirname "$0")/determinism.c"
flags="-std=c99 -Wall -Wextra -pedantic -Werror -ffp-contract=off"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
first=
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
for c in "$cc" "$clang"; do
    command -v "$c" > /dev/null 2>&1 || { echo "skip: $c not found"; continue; }
    for o in -O0 -O2; do
        b=$tmp/det_$(basename "$c")$o
        # shellcheck disable=SC2086
        if ! "$c" $flags -DANOMALY_NO_SIMD $o "$src" -o "$b" -lm; then fail "build with $c $o"; continue; fi
        for run in 1 2; do
            if ! "$b" "$b.$run.anom" "$b.$run.scores"; then fail "run $c $o ($run)"; continue; fi
            [ -n "$first" ] || first=$b.$run
            if cmp -s "$first.anom" "$b.$run.anom"; then pass; else
                fail "$c $o run $run: not the bytes of $(basename "$first").anom"; fi
        done
    done
done

# The largest |a - b| / (1 + |b|) between two score files, rows lines per
# model; rc 1 past tol, and past 0 for the exact model (the 3rd).
compare() {   # compare A B TOL WHAT
    awk -v tol="$3" -v what="$4" -v rows=600 '
        function abs(v) { return v < 0 ? -v : v }
        NR == FNR { ref[FNR] = $1; next }
        { m = int((FNR - 1) / rows); d = ($1 == ref[FNR]) ? 0 : abs($1 - ref[FNR]) / (1 + abs(ref[FNR]))
          if (!(d == d) || ($1 == "nan") != (ref[FNR] == "nan")) d = 1e30
          if (d > worst[m]) worst[m] = d; n = FNR }
        END { bad = n != 3 * rows
              for (m = 0; m < 3; m++) { printf "  %s, model %d: max difference %.3g\n", what, m + 1, worst[m]
                                        if (worst[m] > (m == 2 ? 0 : tol)) bad = 1 }
              exit bad }' "$1" "$2"
}

cpu_has() { grep -qw "$1" /proc/cpuinfo 2> /dev/null; }
if [ -n "$first" ] && command -v "$cc" > /dev/null 2>&1; then
    for path in avx2 avx512; do
        case $path in
        avx2)   cpu_has avx2 && cpu_has fma || { echo "skip: no AVX2 + FMA on this CPU"; continue; }
                pflags="-mavx2 -mfma -DANOMALY_NO_AVX512" ;;
        avx512) cpu_has avx512f && cpu_has avx2 && cpu_has fma || { echo "skip: no AVX-512F on this CPU"; continue; }
                pflags="-mavx512f -mavx2 -mfma" ;;
        esac
        b=$tmp/det_$path
        # shellcheck disable=SC2086
        if ! "$cc" $flags $pflags -O2 "$src" -o "$b" -lm; then fail "build for $path"; continue; fi
        if "$b" "$b.1.anom" "$b.1.scores" && "$b" "$b.2.anom" "$b.2.scores" && cmp -s "$b.1.anom" "$b.2.anom"; then
            pass; echo "  $path: two trainings, one file"
        else fail "$path: two trainings with one seed differ (or failed)"; fi
        if "$b" --load "$first.anom" "$b.loaded" && compare "$b.loaded" "$first.scores" "$TOL_SCORE" "$path scoring scalar models"; then
            pass; else fail "$path: scalar models score beyond $TOL_SCORE of the scalar path"; fi
        if [ -f "$b.1.scores" ] && compare "$b.1.scores" "$first.scores" "$TOL_TRAIN" "$path training its own"; then
            pass; else fail "$path: its own training scores beyond $TOL_TRAIN of the scalar path"; fi
    done
fi
echo "test_determinism: $passed passed, $failed failed"
[ "$failed" = 0 ]
