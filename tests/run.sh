#!/bin/sh
# tests/run.sh - runs the suite and prints the closing "N passed, M failed".
#
#   sh tests/run.sh COMMAND...
#
# First the compile checks (unless SKIP_COMPILE=1): the headers built as C99
# with $CC and $CLANG, as C++ with $CXX, with ANOMALY_STATIC and with
# ANOMALY_NO_TRAINING, alone and with ANOMALY_LSTM_LOAD_IN_PLACE
# (tests/test_no_training.c), each at
# -Wall -Wextra -pedantic -Werror.  Then each COMMAND, a test program (or a
# shell command line, run by sh -c) whose output has lines
# "<suite>: N passed, M failed", all of which count; a command that exits
# non-zero without a failure counted, or prints no such line, counts as
# one failure.
#
# $TEST_JOBS checks and commands run at once (default: the cores online),
# each command with its own scratch directory (ANOMALY_TEST_SCRATCH,
# build/scratch/K), so programs built from one source several ways do not
# share files; a command that reads another's files runs in the same line
# ("build/test_torch && sh tests/test_torch.sh").  Logs print in the order
# given, whatever order the commands finish in.
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${TEST_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
n=0

add() {  # add KIND NAME COMMAND: KIND is "check" (passes when it exits 0) or "suite"
    n=$((n + 1))
    printf '%s\n' "$1" > "$work/$n.kind"
    printf '%s\n' "$2" > "$work/$n.name"
    printf '%s\n' "$3" > "$work/$n.cmd"
}

if [ "${SKIP_COMPILE:-0}" != 1 ]; then
    W="-Wall -Wextra -pedantic -Werror"
    o=build/compile
    mkdir -p "$o"
    for cc in "$CC" "$CLANG"; do
        if ! command -v "$cc" > /dev/null 2>&1; then echo "skip: $cc not found"; continue; fi
        t=$(basename "$cc")
        add check "C99 with $cc" "$cc -std=c99 $W -c tests/compile_impl.c -o $o/impl_$t.o &&
            $cc -std=c99 $W -c tests/compile_main.c -o $o/main_$t.o && $cc $o/impl_$t.o $o/main_$t.o -o $o/c99_$t -lm &&
            $o/c99_$t"
        add check "core + LSTM, no statistics header, with $cc" "$cc -std=c99 $W tests/compile_no_stats.c \
            -o $o/no_stats_$t -lm && $o/no_stats_$t"
        add check "ANOMALY_STATIC with $cc" "$cc -std=c99 $W -DUNIT=1 -c tests/compile_static.c -o $o/s1_$t.o &&
            $cc -std=c99 $W -DUNIT=2 -c tests/compile_static.c -o $o/s2_$t.o && $cc $o/s1_$t.o $o/s2_$t.o -o $o/static_$t -lm &&
            $o/static_$t"
        add check "ANOMALY_NO_TRAINING, alone and with ANOMALY_LSTM_LOAD_IN_PLACE: the full build's files, the \
same scores, with $cc" "$cc -std=c99 $W -O1 -DUNIT=1 -c tests/test_no_training.c -o $o/nt1_$t.o &&
            $cc -std=c99 $W -O1 -DUNIT=2 -c tests/test_no_training.c -o $o/nt2_$t.o &&
            $cc -std=c99 $W -O1 -DUNIT=3 -c tests/test_no_training.c -o $o/nt3_$t.o &&
            $cc $o/nt1_$t.o $o/nt2_$t.o -o $o/no_training_$t -lm && $o/no_training_$t &&
            $cc $o/nt1_$t.o $o/nt3_$t.o -o $o/in_place_$t -lm && $o/in_place_$t"
    done
    if command -v "$CXX" > /dev/null 2>&1; then
        add check "C++ with $CXX" "$CXX $W -x c++ -c tests/compile_impl.c -o $o/impl_cpp.o &&
            $CXX $W -x c++ -c tests/compile_main.c -o $o/main_cpp.o && $CXX $o/impl_cpp.o $o/main_cpp.o -o $o/cpp -lm && $o/cpp"
        add check "ANOMALY_NO_TRAINING (and with ANOMALY_LSTM_LOAD_IN_PLACE) as C++ with $CXX" "$CXX $W \
            -x c++ -DANOMALY_NO_TRAINING -c tests/compile_impl.c -o $o/impl_nt_cpp.o && $CXX $W -x c++ \
            -DANOMALY_NO_TRAINING -DANOMALY_LSTM_LOAD_IN_PLACE=1 -c tests/compile_impl.c -o $o/impl_ip_cpp.o"
        add check "core + LSTM, no statistics header, as C++ with $CXX" "$CXX $W -x c++ tests/compile_no_stats.c \
            -o $o/no_stats_cpp -lm && $o/no_stats_cpp"
    else
        echo "skip: $CXX not found"
    fi
fi
for cmd in "$@"; do add suite "$cmd" "$cmd"; done

# One job (xargs gives K last): its command, log and exit status.
run_one='k=$3; mkdir -p "$1/$k"; ANOMALY_TEST_SCRATCH="$1/$k" sh -c "$(cat "$2/$k.cmd")" > "$2/$k.log" 2>&1; echo $? > "$2/$k.status"'
[ "$n" -gt 0 ] && seq 1 "$n" | xargs -P "$jobs" -n 1 sh -c "$run_one" sh "$root/build/scratch" "$work"

k=0
while [ $k -lt "$n" ]; do
    k=$((k + 1))
    name=$(cat "$work/$k.name")
    status=$(cat "$work/$k.status" 2> /dev/null || echo 1)
    if [ "$(cat "$work/$k.kind")" = check ]; then
        if [ "$status" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/    /' "$work/$k.log"; fi
        continue
    fi
    cat "$work/$k.log"
    lines=$(grep -E '^[A-Za-z0-9_]+: [0-9]+ passed, [0-9]+ failed' "$work/$k.log")
    if [ -z "$lines" ]; then
        failed=$((failed + 1)); echo "FAIL $name (exit $status, no summary line)"
        continue
    fi
    p=$(echo "$lines" | sed -E 's/^[^:]+: ([0-9]+) passed.*/\1/' | awk '{ s += $1 } END { print s }')
    f=$(echo "$lines" | sed -E 's/^[^:]+: [0-9]+ passed, ([0-9]+) failed.*/\1/' | awk '{ s += $1 } END { print s }')
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); echo "FAIL $name (exit $status)"; fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
