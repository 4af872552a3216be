#!/bin/sh
# tests/test_cli.sh - the anomaly command end to end.
#
#   sh tests/test_cli.sh build/anomaly
#
# A synthetic hourly series (daily cycle, noise from a fixed LCG, a gap, a
# spike at row 1500 and a shift at rows 1700-1707) is written by awk; the
# checks are on what the command prints.  Ends "test_cli: N passed, M failed".
bin=${1:-build/anomaly}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { if [ "$1" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $2"; fi; }

awk 'BEGIN {
    print "timestamp,value";
    s = 12345;
    for (i = 0; i < 2000; i++) {
        s = (s * 1103515245 + 12345) % 2147483648; u1 = (s + 1) / 2147483649;
        s = (s * 1103515245 + 12345) % 2147483648; u2 = s / 2147483648;
        noise = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
        v = 20 + 5 * sin(6.283185307179586 * i / 24) + 0.5 * noise;
        if (i == 1500) v += 9; if (i >= 1700 && i < 1708) v += 6;
        t = 1404172800 + 3600 * i;   # 2014-07-01T00:00:00Z
        printf "%s,%s\n", strftime_iso(t), (i == 300 ? "nan" : sprintf("%.4f", v));
    }
}
function strftime_iso(t,   d, h, y, m, days) {
    d = int(t / 86400); h = int((t % 86400) / 3600);
    # days since 1970-01-01 to a civil date (Howard Hinnant)
    z = d + 719468; era = int(z / 146097); doe = z - era * 146097;
    yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365);
    y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100));
    mp = int((5 * doy + 2) / 153); dd = doy - int((153 * mp + 2) / 5) + 1; m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    return sprintf("%04d-%02d-%02d %02d:00:00", y, m, dd, h);
}' > "$tmp/series.csv"

# detect: one row per input row, scores in [0, 1]; unsupervised (fit on
# everything, shift included) it flags the spike alone; fitted on the clean
# first 1000 rows it flags the spike and the shift's first four rows too,
# after which STL + IQR takes the shifted level as the new one
"$bin" detect --json "$tmp/events.json" "$tmp/series.csv" > "$tmp/scored.csv" 2> "$tmp/events.txt"
ok $? "detect exits 0"
[ "$(wc -l < "$tmp/scored.csv")" = 2001 ] && [ "$(head -1 "$tmp/scored.csv")" = "timestamp,value,score,anomaly" ]
ok $? "detect writes the header and one row per input row"
awk -F, 'NR > 1 && ($3 < 0 || $3 > 1) { bad = 1 } END { exit bad }' "$tmp/scored.csv"
ok $? "scores lie in [0, 1]"
awk -F, 'NR > 1 && $4 == 1 { n++; if (NR == 1502) a = 1 } END { exit !(a && n <= 3) }' "$tmp/scored.csv"
ok $? "unsupervised: the spike is flagged, at most 2 other rows"
"$bin" detect --train-rows 1000 "$tmp/series.csv" > "$tmp/trained.csv" 2> /dev/null
awk -F, 'NR == 1502 && $4 == 1 { a = 1 } NR >= 1702 && NR <= 1709 { b += $4 }
         NR > 1 && $4 == 1 && !(NR == 1502 || (NR >= 1702 && NR <= 1710)) { fp++ }
         END { exit !(a && b >= 4 && fp <= 5) }' "$tmp/trained.csv"
ok $? "trained on clean rows: the spike and the shift's start, at most 5 other rows"
"$bin" detect --threshold spot --train-rows 1000 "$tmp/series.csv" 2> /dev/null |
    awk -F, 'NR == 1502 && $4 == 1 { a = 1 } NR > 1 && $4 == 1 { n++ } END { exit !(a && n <= 20) }'
ok $? "--threshold spot flags the spike, and 20 rows at most"
"$bin" detect --threshold dynamic --train-rows 1000 "$tmp/series.csv" 2> /dev/null |
    awk -F, 'NR >= 1702 && NR <= 1709 && $4 == 1 { a = 1 } NR > 1 && NR < 1400 && $4 == 1 { b = 1 } END { exit !(a && !b) }'
ok $? "--threshold dynamic (telemanom, which smooths a lone spike away) flags the shift, nothing early"
awk -F, 'NR == 302 { exit $2 != "nan" }' "$tmp/scored.csv"
ok $? "a missing cell is written back as it was read"
grep -q '^event 2014-09-01 12:00:00' "$tmp/events.txt" && grep -q '"expected": \[' "$tmp/events.json"
ok $? "events name their time and expected value (stderr and JSON)"

# save and load: a model saved after its 1000 training rows goes on from
# there, giving the rows that follow the scores they had in one run
"$bin" detect --train-rows 1000 --save "$tmp/model.anom" "$tmp/series.csv" > "$tmp/a.csv" 2> /dev/null &&
    { head -1 "$tmp/series.csv"; sed -n '1002,$p' "$tmp/series.csv"; } > "$tmp/rest.csv" &&
    "$bin" detect --load "$tmp/model.anom" "$tmp/rest.csv" > "$tmp/b.csv" 2> /dev/null &&
    sed -n '1002,$p' "$tmp/a.csv" > "$tmp/a_rest.txt" && sed 1d "$tmp/b.csv" | cmp -s - "$tmp/a_rest.txt"
ok $? "a saved model goes on where its training rows ended, with the same scores"

# stream: one answer per line, and the spike flagged
cut -d, -f2 "$tmp/series.csv" | sed 1d | "$bin" stream --train-rows 500 > "$tmp/stream.txt"
[ "$(wc -l < "$tmp/stream.txt")" = 2000 ] && awk -F, 'NR == 1501 && $2 == 1 { f = 1 } END { exit !f }' "$tmp/stream.txt"
ok $? "stream answers every line and flags the spike"

# nab: causal, so a truncated file gives the same scores on the rows it keeps
mkdir -p "$tmp/data/cat" "$tmp/short/cat"
cp "$tmp/series.csv" "$tmp/data/cat/s.csv"
head -1201 "$tmp/series.csv" > "$tmp/short/cat/s.csv"
"$bin" nab "$tmp/data" "$tmp/out" 2> /dev/null && "$bin" nab "$tmp/short" "$tmp/out_short" 2> /dev/null
ok $? "nab exits 0"
[ "$(head -1 "$tmp/out/anomalyh/cat/anomalyh_s.csv")" = "timestamp,value,anomaly_score,label" ]
ok $? "nab writes NAB's results layout"
head -1201 "$tmp/out/anomalyh/cat/anomalyh_s.csv" | cmp -s - "$tmp/out_short/anomalyh/cat/anomalyh_s.csv"
ok $? "nab scores are causal: truncating the file changes no earlier score"

# the picture: an SVG document, and the demo writes one too
"$bin" detect --svg "$tmp/p.svg" "$tmp/series.csv" > /dev/null 2>&1 &&
    head -c 200 "$tmp/p.svg" | grep -q '<svg' && tail -c 20 "$tmp/p.svg" | grep -q '</svg>'
ok $? "--svg writes an SVG document"
(cd "$tmp" && "$bin" demo > demo.txt) && grep -q '^events: precision' "$tmp/demo.txt" && tail -c 20 "$tmp/demo.svg" | grep -q '</svg>'
ok $? "demo prints its scores and writes demo.svg"
# the floors the demo is held to: every injected anomaly found, and more
# than 9 in 10 of the events it reports real (event precision > 0.9)
sed -n 's/^RESULT //p' "$tmp/demo.txt" | awk -F'[:,}]' '{ p = $2; r = $4 } END { exit !(p > 0.9 && r >= 1.0) }'
ok $? "demo: event precision above 0.9, recall 1"

# errors are clear and fail
printf 'time,value\n1,2\n2,abc\n' > "$tmp/bad.csv"
"$bin" detect "$tmp/bad.csv" > /dev/null 2> "$tmp/err.txt"
[ $? = 1 ] && grep -q "is not a number" "$tmp/err.txt"
ok $? "a bad cell is an error that names it"

echo "test_cli: $passed passed, $failed failed"
[ "$failed" = 0 ]
