#!/bin/sh
# tests/run.sh - runs the suite and prints the closing "N passed, M failed".
#
#   sh tests/run.sh COMMAND...
#
# First the compile checks (unless SKIP_COMPILE=1): the headers built as C99
# with $CC and $CLANG, as C++ with $CXX, with ANOMALY_STATIC and with
# ANOMALY_NO_TRAINING, alone and with ANOMALY_LSTM_LOAD_IN_PLACE
# (tests/test_no_training.c), each at
# -Wall -Wextra -pedantic -Werror.  Then each COMMAND, a test program that
# ends with "<suite>: N passed, M failed"; a program that crashes or exits
# non-zero without that line counts as one failure.
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() {  # count NAME STATUS
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1"; sed 's/^/    /' "$log"; fi
}

compile_check() {  # compile_check NAME COMMAND...
    name=$1; shift
    ( "$@" ) > "$log" 2>&1
    count "$name" $?
}

if [ "${SKIP_COMPILE:-0}" != 1 ]; then
    W="-Wall -Wextra -pedantic -Werror"
    o=build/compile
    mkdir -p "$o"
    for cc in "$CC" "$CLANG"; do
        if ! command -v "$cc" > /dev/null 2>&1; then echo "skip: $cc not found"; continue; fi
        compile_check "C99 with $cc" sh -c "$cc -std=c99 $W -c tests/compile_impl.c -o $o/impl.o &&
            $cc -std=c99 $W -c tests/compile_main.c -o $o/main.o && $cc $o/impl.o $o/main.o -o $o/c99 -lm && $o/c99"
        compile_check "core + LSTM, no statistics header, with $cc" sh -c "$cc -std=c99 $W tests/compile_no_stats.c \
            -o $o/no_stats -lm && $o/no_stats"
        compile_check "ANOMALY_STATIC with $cc" sh -c "$cc -std=c99 $W -DUNIT=1 -c tests/compile_static.c -o $o/s1.o &&
            $cc -std=c99 $W -DUNIT=2 -c tests/compile_static.c -o $o/s2.o && $cc $o/s1.o $o/s2.o -o $o/static -lm && $o/static"
        compile_check "ANOMALY_NO_TRAINING: the full build's files, the same scores, with $cc" sh -c "$cc -std=c99 $W -O1 \
            -DUNIT=1 -c tests/test_no_training.c -o $o/nt1.o && $cc -std=c99 $W -O1 -DUNIT=2 -c tests/test_no_training.c \
            -o $o/nt2.o && $cc $o/nt1.o $o/nt2.o -o $o/no_training -lm && $o/no_training"
        compile_check "ANOMALY_NO_TRAINING with ANOMALY_LSTM_LOAD_IN_PLACE: the same scores, with $cc" sh -c "$cc -std=c99 \
            $W -O1 -DUNIT=1 -c tests/test_no_training.c -o $o/ip1.o && $cc -std=c99 $W -O1 -DUNIT=3 \
            -c tests/test_no_training.c -o $o/ip3.o && $cc $o/ip1.o $o/ip3.o -o $o/in_place -lm && $o/in_place"
    done
    if command -v "$CXX" > /dev/null 2>&1; then
        compile_check "C++ with $CXX" sh -c "$CXX $W -x c++ -c tests/compile_impl.c -o $o/impl_cpp.o &&
            $CXX $W -x c++ -c tests/compile_main.c -o $o/main_cpp.o && $CXX $o/impl_cpp.o $o/main_cpp.o -o $o/cpp -lm && $o/cpp"
        compile_check "ANOMALY_NO_TRAINING (and with ANOMALY_LSTM_LOAD_IN_PLACE) as C++ with $CXX" sh -c "$CXX $W \
            -x c++ -DANOMALY_NO_TRAINING -c tests/compile_impl.c -o $o/impl_nt_cpp.o && $CXX $W -x c++ \
            -DANOMALY_NO_TRAINING -DANOMALY_LSTM_LOAD_IN_PLACE=1 -c tests/compile_impl.c -o $o/impl_ip_cpp.o"
        compile_check "core + LSTM, no statistics header, as C++ with $CXX" sh -c "$CXX $W -x c++ tests/compile_no_stats.c \
            -o $o/no_stats_cpp -lm && $o/no_stats_cpp"
    else
        echo "skip: $CXX not found"
    fi
fi

for cmd in "$@"; do
    $cmd > "$log" 2>&1
    status=$?
    cat "$log"
    line=$(grep -E '^[A-Za-z0-9_]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        failed=$((failed + 1)); echo "FAIL $cmd (exit $status, no summary line)"
        continue
    fi
    p=$(echo "$line" | sed -E 's/^[^:]+: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/^[^:]+: [0-9]+ passed, ([0-9]+) failed.*/\1/')
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); echo "FAIL $cmd (exit $status)"; fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
