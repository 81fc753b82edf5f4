#!/usr/bin/env bash
# Go benchmarks of the hot paths (issue 10), in benchstat format: plain `go test -bench`
# output (goos/goarch/pkg/cpu headers, -benchmem, COUNT runs of each) written to
# bench/results/go-bench.txt (OUT). A curated list, not `-bench .`: 206 s with COUNT=6 on
# 2 cores that other work was also using (build cache warm; a cold build adds the compile),
# before BenchmarkDistributeManyGroups, which adds about two minutes (two cases of 4-9 s per run), and
# BenchmarkWriteback_FirstRun, which adds another (a 150k-opportunity company is generated
# once per invocation and loaded into a new sandbox org before each timed run, outside the
# timer).
#
#   page decode -> Arrow   extract/salesforce  BenchmarkDecodePage   2,000-record Opportunity page, records/s, MB/s of JSON
#                          extract/sap         BenchmarkDecodePage   1,000 sales orders with items, records/s, MB/s of JSON
#   extraction end to end  extract/salesforce  BenchmarkExtractOpportunity  200k records from the sandbox over loopback
#   Parquet write          extract             BenchmarkLandParquet  200k opportunity rows into a zstd part, rows/s, MB/s of Arrow
#   golden record          transform           BenchmarkGoldenRecord match models over ~25k accounts, accounts/s
#   Monte Carlo            models/pipeline     BenchmarkDistribute/1Mdeals/1000sims (2,264 groups) and
#                                              BenchmarkDistributeManyGroups (the large nightly's shape:
#                                              125k deals x 8 periods, 48,928 groups, 2,000 worlds;
#                                              /independent one draw per period, /joint one per deal)
#   logistic fit           models/winprob      BenchmarkFit (100k x 20, 1M x 30, 1M x 30 ill-conditioned)
#   ETS fit                models/timeseries   BenchmarkETSFit (100 M3 monthly series, 100 synthetic); the
#                          M3 case skips when the datasets are absent (REVCAST_DATASETS)
#   write-back             reports/writeback   BenchmarkWriteback_FirstRun: 15,000 scored deals written into an
#                          empty sandbox org over loopback and logged, records/s
#
# Compare two commits (benchstat reports medians with confidence intervals and p-values;
# -count 6 or more gives it enough samples):
#
#   git checkout OLD && bench/go-bench.sh && cp bench/results/go-bench.txt /tmp/old.txt
#   git checkout NEW && bench/go-bench.sh && cp bench/results/go-bench.txt /tmp/new.txt
#   go run golang.org/x/perf/cmd/benchstat@latest /tmp/old.txt /tmp/new.txt
#
# Run on an otherwise idle machine: the machine's other load shows up in every figure.
# Usage: bench/go-bench.sh   (env: GO=go TAGS=duckdb_arrow COUNT=6 OUT=bench/results/go-bench.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
tags=${TAGS:-duckdb_arrow}
count=${COUNT:-6}
out=${OUT:-bench/results/go-bench.txt}

# package, then -bench regexp (one `go test` per package, so that a name such as
# BenchmarkFit selects only the package meant, and packages run one after another)
benches=(
  ./extract/salesforce '^(BenchmarkDecodePage|BenchmarkExtractOpportunity)$'
  ./extract/sap '^BenchmarkDecodePage$'
  ./extract '^BenchmarkLandParquet$'
  ./transform '^BenchmarkGoldenRecord$'
  ./models/pipeline '^BenchmarkDistribute$/^1Mdeals$/^1000sims$'
  ./models/pipeline '^BenchmarkDistributeManyGroups$'
  ./models/winprob '^BenchmarkFit$'
  ./models/timeseries '^BenchmarkETSFit$'
  ./reports/writeback '^BenchmarkWriteback_FirstRun$'
)

mkdir -p "$(dirname "$out")"
tmp=$out.tmp
: >"$tmp"
trap 'rm -f "$tmp"' EXIT
start=$(date +%s)
for ((i = 0; i < ${#benches[@]}; i += 2)); do
  "$go" test -tags "$tags" -run '^$' -bench "${benches[i + 1]}" -benchmem -count "$count" -timeout 30m "${benches[i]}" | tee -a "$tmp"
done
mv "$tmp" "$out"
echo "wrote $out in $(($(date +%s) - start))s" >&2
