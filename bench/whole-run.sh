#!/usr/bin/env bash
# Whole-run timings: `revcast demo` (the whole job: generate, sandbox, extract, transform,
# forecast, report, write-back) at each scale, RUNS
# times, reporting the median wall time and the median peak RSS measured by the OS
# (/usr/bin/time -v "Maximum resident set size").
# Usage: bench/whole-run.sh BIN [SCALE...]   (default scales: small medium; RUNS=3)
set -euo pipefail
bin=${1:?usage: whole-run.sh BIN [SCALE...]}
shift
[ $# -gt 0 ] && scales=("$@") || scales=(small medium)
runs=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

printf '%-8s %-6s %12s %14s %s\n' scale runs wall_s_median peak_rss_mib method
for scale in "${scales[@]}"; do
  : >"$work/wall"; : >"$work/rss"
  for i in $(seq "$runs"); do
    rm -rf "$work/demo"
    /usr/bin/time -v -o "$work/time.txt" "$bin" demo --dir "$work/demo" --scale "$scale" --seed 42 --as-of 2026-06-30 >/dev/null 2>"$work/stderr" \
      || { cat "$work/stderr"; exit 1; }
    awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$work/time.txt" >>"$work/wall"
    awk -F': ' '/Maximum resident set size/ {printf "%.1f\n", $2/1024}' "$work/time.txt" >>"$work/rss"
  done
  printf '%-8s %-6s %12s %14s %s\n' "$scale" "$runs" "$(median <"$work/wall")" "$(median <"$work/rss")" \
    "revcast demo (whole job), /usr/bin/time -v"
done
