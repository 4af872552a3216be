#!/bin/sh
# tests/test_examples.sh - the embedding examples do what their comments say.
#
#   sh tests/test_examples.sh build/quickstart build/stream_fixed
#
# stream_fixed is linked with tests/no_heap.c, so any heap use aborts it.
# Then every ```c block of README.md and docs/*.md is compiled against the
# headers as it stands, each block its own file: a block with main() is
# linked and run (the README's first, the quickstart, must flag the spike
# at 700 and nothing else), any other block is checked with -fsyntax-only.
# $CC and $CFLAGS come from make test (default cc and the suite's
# warnings); the blocks build at -O0 -g0, since the suite's other programs
# already compile the headers optimised and this is a check of the text.
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

root=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-cc}
cflags=${CFLAGS:--std=c99 -Wall -Wextra -pedantic -Werror -O1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The tours are functions whose results the reader goes on to use: unused
# locals are not errors there.
quiet="-Wno-unused-variable -Wno-unused-but-set-variable -Wno-unused-parameter"
for md in "$root/README.md" "$root"/docs/*.md; do
    [ -f "$md" ] || continue
    name=$(basename "$md" .md)
    awk -v dir="$tmp" -v name="$name" '
        /^```c[ \t]*$/ { k++; f = sprintf("%s/%s_%d.c", dir, name, k); inside = 1; printf "" > f; next }
        /^```/          { if (inside) close(f); inside = 0; next }
        inside          { print > f }' "$md"
done
n_blocks=0
for c in "$tmp"/*.c; do
    [ -f "$c" ] || continue
    n_blocks=$((n_blocks + 1))
    block=$(basename "$c" .c)
    if grep -q 'int main' "$c"; then
        $cc $cflags -O0 -g0 -I"$root" "$c" -o "$tmp/$block" -lm > "$tmp/$block.log" 2>&1
    else
        $cc $cflags -O0 -g0 $quiet -I"$root" -fsyntax-only "$c" > "$tmp/$block.log" 2>&1
    fi
    st=$?
    [ $st = 0 ] || sed 's/^/    /' "$tmp/$block.log" | head -20
    ok $st "the C block $block (${block%_*}.md, block ${block##*_}) compiles against the headers"
done
[ "$n_blocks" -ge 5 ]
ok $? "README.md and docs/ have their C blocks ($n_blocks found, at least 5)"
out=$(awk 'BEGIN { print "" }' | "$tmp/README_1" 2>&1)
[ $? = 0 ] && [ "$(echo "$out" | grep -c '^anomaly at')" = 1 ] && echo "$out" | grep -q '^anomaly at 700:'
ok $? "the README's quickstart runs and flags the spike at 700 and nothing else"

echo "test_examples: $passed passed, $failed failed"
[ "$failed" = 0 ]
