#!/bin/sh
# bench/stl_compare.sh - build/stl side by side with R's stats::stl and
# statsmodels' STL on the same parameters (R's defaults for the seasonal
# window), where they are installed.  Prints one row per case with the
# peers' time over ours, and ends with "RESULT {json}" lines from each run.
#
#   sh bench/stl_compare.sh [bench/stl]
#
# Cases: n = 1e3 .. 1e6 at period 24, s.window 7, robust and not; then
# n = 1e5 with s.window periodic, and with periods 7 and 365.
stl=${1:-bench/stl}
py=/usr/bin/python3
have_r=0; command -v Rscript > /dev/null 2>&1 && have_r=1
have_sm=0; [ -x "$py" ] && "$py" -c 'import statsmodels' 2> /dev/null && have_sm=1
[ $have_r = 1 ] || echo "R not installed (apt-get install r-base-core): its column is empty"
[ $have_sm = 1 ] || echo "statsmodels not installed (apt-get install python3-statsmodels): its column is empty"
results=$(mktemp)
trap 'rm -f "$results"' EXIT

seconds() { sed -n 's/.*"seconds_per_call": *\([0-9.e+-]*\).*/\1/p' | tail -n 1; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }

printf '%-8s %-6s %-8s %-6s | %11s %11s %11s | %8s %8s\n' n period swindow robust anomaly.h R statsmodels "R/ours" "sm/ours"
run() {  # run N PERIOD SWINDOW ROBUST
    n=$1; p=$2; sw=$3; rb=$4
    flag=; [ "$rb" = 1 ] && flag=--robust
    reps=5; [ "$n" = 1e6 ] && reps=3
    ours=$("$stl" --n "$n" --period "$p" --swindow "$sw" $flag --repeat $reps | tee -a "$results" | seconds)
    r=; sm=
    [ $have_r = 1 ] && r=$(Rscript bench/peers/stl_r.R "$n" "$p" "$sw" "$rb" $reps | tee -a "$results" | seconds)
    [ $have_sm = 1 ] && sm=$("$py" bench/peers/stl_statsmodels.py "$n" "$p" "$sw" "$rb" $reps | tee -a "$results" | seconds)
    printf '%-8s %-6s %-8s %-6s | %11s %11s %11s | %8s %8s\n' "$n" "$p" "$sw" "$rb" "$ours" "$r" "$sm" \
        "$(ratio "$r" "$ours")" "$(ratio "$sm" "$ours")"
}
for n in 1e3 1e4 1e5 1e6; do
    for rb in 0 1; do run $n 24 7 $rb; done
done
for rb in 0 1; do run 1e5 24 periodic $rb; done
for p in 7 365; do
    for rb in 0 1; do run 1e5 $p 7 $rb; done
done
grep '^RESULT' "$results"
