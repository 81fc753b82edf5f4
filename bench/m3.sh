#!/usr/bin/env bash
# M3 accuracy and speed through the CLI: for each M3 frequency (monthly: season 12, horizon
# 18; quarterly 4/8; yearly 1/6; other 1/8) and each method (ets, theta, combo, snaive), run
# `BIN timeseries` over every series of the frequency and score its output.
#
# How: bench/m3eval split turns the wide M3 file into a long training CSV without the last NF
# points of each series and a CSV of those held-out points; `BIN timeseries --in TRAIN
# --horizon H --season M --method X --out FC` forecasts them all (in parallel, every core);
# bench/m3eval score prints sMAPE (M3 definition, 200/h sum |y-f|/(|y|+|f|)) and MASE (scaled
# by the in-sample seasonal naive) averaged over series, and the 80%/95% interval coverage.
# Time is the wall time of the whole command (start, read, fit, write), the median of RUNS
# runs, also given per 1,000 series. The published sMAPE/MASE are those of the R forecast
# package in the datasets README ("combo" is compared with the published mean of ETS, Theta
# and auto.arima; revcast's combo is Akaike-weighted ETS and Theta, no ARIMA).
#
# Usage: bench/m3.sh BIN        e.g. bench/m3.sh bin/revcast
# Env:   RUNS (default 1), REVCAST_DATASETS (default ../shared/datasets from the repo root),
#        FREQS (default "monthly quarterly yearly other"), METHODS (default "ets theta combo snaive").
# Output: one table on stdout, also written to bench/results/m3.txt.
set -euo pipefail

bin=${1:?usage: bench/m3.sh BIN (e.g. bin/revcast)}
[ -x "$bin" ] || { echo "m3.sh: $bin is not an executable; build it with 'make build'" >&2; exit 1; }
bin=$(realpath "$bin")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
datasets=${REVCAST_DATASETS:-$root/../shared/datasets}
if [ ! -f "$datasets/m3/m3_monthly.csv" ]; then
  echo "m3.sh: M3 data not found in $datasets/m3 (set REVCAST_DATASETS to the datasets directory)" >&2
  exit 1
fi
runs=${RUNS:-1}
freqs=${FREQS:-monthly quarterly yearly other}
methods=${METHODS:-ets theta combo snaive}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -tags duckdb_arrow -o "$work/m3eval" ./bench/m3eval)

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
# kv KEY LINE: the value of KEY=value in an m3eval score line.
kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
# published FREQ METHOD: "sMAPE MASE" from the datasets README's table (columns ETS, Theta,
# auto.arima, mean of the three, seasonal naive), or "- -".
published() {
  local col
  case $2 in ets) col=3 ;; theta) col=4 ;; combo) col=6 ;; snaive) col=7 ;; *) echo "- -"; return ;; esac
  awk -F'|' -v f="$1" -v c="$col" '
    { p=$2; gsub(/ /, "", p) }
    p == f { split($c, v, "/"); gsub(/ /, "", v[1]); gsub(/ /, "", v[2]); print v[1], v[2]; found=1; exit }
    END { if (!found) print "- -" }' "$datasets/README.md"
}

out=$work/table.txt
{
  echo "# M3 through 'revcast timeseries' — $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo +dirty)"
  echo "# $(nproc) cores, load average at start $(cut -d' ' -f1-3 /proc/loadavg); wall time = median of RUNS=$runs run(s) of the whole command"
  printf '%-9s %-6s %6s %8s %8s %7s %7s %6s %6s %8s %9s\n' \
    frequency method series sMAPE pub_sMAPE MASE pub_MASE cov80 cov95 wall_s s_per_1000
} | tee "$out"

ets_wall=0 ets_series=0
for freq in $freqs; do
  case $freq in
    monthly) m=12 h=18 ;;
    quarterly) m=4 h=8 ;;
    yearly) m=1 h=6 ;;
    other) m=1 h=8 ;;
    *) echo "m3.sh: unknown frequency $freq (monthly, quarterly, yearly, other)" >&2; exit 2 ;;
  esac
  "$work/m3eval" split --in "$datasets/m3/m3_$freq.csv" --train "$work/train.csv" --test "$work/test.csv" 2>"$work/stderr" ||
    { cat "$work/stderr" >&2; exit 1; }
  for method in $methods; do
    : >"$work/wall"
    for _ in $(seq "$runs"); do
      t0=$(now)
      "$bin" timeseries --in "$work/train.csv" --horizon "$h" --season "$m" --method "$method" \
        --level 80,95 --out "$work/fc.csv" --log-level error 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
      t1=$(now)
      { calc "$t1 - $t0"; echo; } >>"$work/wall"
    done
    wall=$(median <"$work/wall")
    score=$("$work/m3eval" score --train "$work/train.csv" --test "$work/test.csv" --forecast "$work/fc.csv" --season "$m")
    n=$(kv series "$score")
    read -r pub_s pub_m <<<"$(published "$freq" "$method")"
    printf '%-9s %-6s %6d %8.3f %8s %7.3f %7s %6.3f %6.3f %8.2f %9.2f\n' "$freq" "$method" "$n" \
      "$(kv smape "$score")" "$pub_s" "$(kv mase "$score")" "$pub_m" "$(kv cov80 "$score")" "$(kv cov95 "$score")" \
      "$wall" "$(calc "$wall * 1000 / $n")" | tee -a "$out"
    if [ "$method" = ets ]; then
      ets_wall=$(calc "$ets_wall + $wall")
      ets_series=$((ets_series + n))
    fi
  done
done
{
  echo "# published: R forecast package (Hyndman 2018, datasets README); for combo, the mean of ETS, Theta and auto.arima"
  echo "# cov80/cov95: share of held-out points inside the 80%/95% prediction intervals"
  if [ "$ets_series" -gt 0 ]; then
    printf '# AutoETS (--method ets) over all %d series above: %.1f s wall (%.2f s per 1,000 series)\n' \
      "$ets_series" "$ets_wall" "$(calc "$ets_wall * 1000 / $ets_series")"
  fi
} | tee -a "$out"
mkdir -p "$root/bench/results"
cp "$out" "$root/bench/results/m3.txt"
