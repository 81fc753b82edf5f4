#!/usr/bin/env bash
# What warehouse.vacuum_days buys: a week of nightly transforms with DuckDB's checkpoint
# vacuum once a week (the default, 7) against a vacuum at every checkpoint (vacuum_days: 0),
# on two copies of one warehouse fed the same changes (transform.DBSettings.VacuumDays).
#
# Method
#   - 'revcast sandbox --split salesforce' serves the company; 'revcast extract' and
#     'revcast transform' build the warehouse (no forecast or write-back: the sandbox stays
#     as revcast found it, so both copies extract the same changes).
#   - The folder is copied twice: "weekly" keeps vacuum_days: 7, "every" sets 0.
#   - Each of NIGHTS nights (default 7): the sandbox changes 1% of the records (seed
#     100 + night), then each copy runs 'revcast extract' and 'revcast transform'. On the
#     last night "weekly" is set to vacuum_days: 0, which vacuums what its week deferred,
#     as the seventh night of a schedule does when the vacuum falls due.
#   - close = from the transform's "ran data tests" log line to the process's exit: the
#     checkpoint that closes the warehouse; transform = the command's wall time.
#
# Usage: bench/vacuum.sh BIN [SCALE] [NIGHTS]   (default: large 7; PORT=8900)
# At large: about 20 minutes and 8 GB of disk.
set -euo pipefail
bin=$(realpath "${1:?usage: vacuum.sh BIN [SCALE] [NIGHTS]}")
scale=${2:-large}
nights=${3:-7}
port=${PORT:-8900}
work=$(mktemp -d)
sandbox_pid=""
cleanup() {
  [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export SF_CLIENT_SECRET=revcast-sandbox-secret SAP_PASSWORD=revcast-sandbox-password
src_flags=(--source salesforce --source sap --source exports)
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

start_sandbox "$scale"

# run DIR CMD...: runs revcast CMD in DIR with its log in $work/last.err, or stops the bench.
run() {
  local dir=$1; shift
  (cd "$dir" && "$bin" "$@" >"$work/last.out" 2>"$work/last.err") ||
    { echo "bench: 'revcast $*' failed in $dir:" >&2; tail -20 "$work/last.err" >&2; exit 1; }
}
# night DIR: extract and transform; prints "transform_seconds close_seconds".
night() {
  run "$1" extract "${src_flags[@]}"
  local start end tests
  start=$(date +%s.%N)
  run "$1" transform
  end=$(date +%s.%N)
  tests=$(date -d "$(grep -o 'time=[^ ]*' <(grep 'msg="ran data tests"' "$work/last.err") | cut -d= -f2)" +%s.%N)
  awk -v s="$start" -v t="$tests" -v e="$end" 'BEGIN {printf "%.1f %.1f\n", e - s, e - t}'
}
set_vacuum_days() { sed -i "s/^  vacuum_days: .*/  vacuum_days: $2/" "$1/revcast.yaml"; grep -q "^  vacuum_days: $2\$" "$1/revcast.yaml"; }

base="$work/base"
"$bin" init --dir "$base" --sandbox "http://127.0.0.1:$port" --exports "$work/exports" >/dev/null
night "$base" >/dev/null
cp -a "$base" "$work/weekly"
cp -a "$base" "$work/every"
rm -rf "$base"
set_vacuum_days "$work/every" 0

printf '%-6s %18s %18s %14s %14s\n' night weekly_close_s every_close_s weekly_xform_s every_xform_s
sum_w=0 sum_e=0
for n in $(seq "$nights"); do
  mutate_one_percent $((100 + n))
  [ "$n" -eq "$nights" ] && set_vacuum_days "$work/weekly" 0
  read -r tw cw < <(night "$work/weekly")
  read -r te ce < <(night "$work/every")
  label=$n
  [ "$n" -eq "$nights" ] && label="$n*"
  printf '%-6s %18s %18s %14s %14s\n' "$label" "$cw" "$ce" "$tw" "$te"
  sum_w=$(awk -v a="$sum_w" -v b="$cw" 'BEGIN {print a + b}')
  sum_e=$(awk -v a="$sum_e" -v b="$ce" 'BEGIN {print a + b}')
done
printf '%-6s %18s %18s\n' total "$sum_w" "$sum_e"
echo "* weekly vacuums on this night (what its $((nights - 1)) nights deferred); scale $scale, $(date -u +%F)"
