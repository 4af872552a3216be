#!/bin/sh
# tests/test_examples.sh - the embedding examples do what their comments say.
#
#   sh tests/test_examples.sh build/quickstart build/stream_fixed
#
# stream_fixed is linked with tests/no_heap.c, so any heap use aborts it.
# Ends "test_examples: N passed, M failed".
quickstart=${1:-build/quickstart}
stream_fixed=${2:-build/stream_fixed}
passed=0
failed=0
ok() { if [ "$1" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $2"; fi; }

out=$(awk 'BEGIN { for (i = 0; i < 1000; i++) print 10 + 3 * sin(6.2831853 * i / 24) + (i == 700 ? 9 : 0) + 0.3 * sin(i * 7.13) }' |
      "$quickstart")
ok $? "quickstart exits 0"
[ "$(echo "$out" | grep -c '^anomaly at')" = 1 ] && echo "$out" | grep -q '^anomaly at 700:'
ok $? "quickstart flags the spike at 700 and nothing else"

out=$("$stream_fixed")
ok $? "stream_fixed runs without the heap and allocates nothing while streaming"
[ "$(echo "$out" | grep -c '^alarm at reading 70[0-3]:')" = 4 ] && [ "$(echo "$out" | grep -c '^alarm')" = 4 ]
ok $? "stream_fixed raises the four fault readings and nothing else"

echo "test_examples: $passed passed, $failed failed"
[ "$failed" = 0 ]
