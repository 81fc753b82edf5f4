#!/usr/bin/env bash
# Side by side with the Python tools a user would otherwise pick (issue 10, item 3), as
# ratios Python/revcast:
#
# 1. AutoETS: `BIN timeseries --method ets` against statsmodels' ETSModel searched over the
#    same model space and selected by the same AICc (bench/python/ets_statsmodels.py), on the
#    M3 monthly series: the same training CSV from `m3eval split`, horizon 18, both writing
#    revcast's forecast CSV (80%/95% intervals included unless PY_INTERVALS=0), both scored
#    by `m3eval score` (sMAPE, MASE, coverage). statsmodels' selection is scored as is and
#    without its degenerate fits (multiplicative error with a fitted value <= 0; same fits,
#    same run: see ets_statsmodels.py --out-guarded). Time: wall time of each whole command
#    (start, read, fit, write), median of RUNS. revcast fits series in parallel on every
#    core and is also timed with GOMAXPROCS=1, like for like with the single-threaded
#    Python loop (run with OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=1).
#    statsmodels takes about a second per monthly series here (15 models, each with a
#    numerical-gradient L-BFGS and a numerical Hessian), well over 15 minutes for all 1,428,
#    so both sides run on every EVERY-th series in file order (default 4: 357 series;
#    EVERY=1 for all).
# 2. Logistic regression: revcast's winprob.Fit against scikit-learn's LogisticRegression
#    (lbfgs, L2, C = 1/(n lambda), same standardisation and stopping rule; see
#    bench/python/logit_sklearn.py) on the win-probability matrix `revcast forecast` fits,
#    built by bench/winprobmatrix from a demo warehouse (SCALE, default medium; seed 42,
#    as-of 2026-06-30) and checked against forecast.Fit. Time: median of 5 fits in process,
#    data in memory; both with every core and with one thread. Accuracy: held-out log-loss
#    on the forecast's own time-split calibration fold.
#
# Python comes from Debian (/usr/bin/python3 with python3-statsmodels, python3-sklearn);
# when they are missing and we are root, they are installed with apt-get.
#
# Usage: bench/compare.sh BIN        e.g. bench/compare.sh bin/revcast
# Env:   REVCAST_DATASETS (default ../shared/datasets from the repo root), EVERY (4), RUNS (1:
#        ETS runs per side), PY_INTERVALS (1), SCALE (medium), WAREHOUSE (an existing
#        warehouse.duckdb with as-of 2026-06-30 to skip building the demo), KEEP (a directory
#        to keep the intermediate CSVs in).
# Output: the details as they are measured, then one table of ratios; written to
#         bench/results/compare.txt.
set -euo pipefail

bin=${1:?usage: bench/compare.sh BIN (e.g. bin/revcast)}
[ -x "$bin" ] || { echo "compare.sh: $bin is not an executable; build it with 'make build'" >&2; exit 1; }
bin=$(realpath "$bin")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
datasets=${REVCAST_DATASETS:-$root/../shared/datasets}
if [ ! -f "$datasets/m3/m3_monthly.csv" ]; then
  echo "compare.sh: M3 data not found in $datasets/m3 (set REVCAST_DATASETS to the datasets directory)" >&2
  exit 1
fi
every=${EVERY:-4}
runs=${RUNS:-1}
py_intervals=${PY_INTERVALS:-1}
scale=${SCALE:-medium}
asof=2026-06-30
py=/usr/bin/python3 # Debian's: the python3 on PATH may be a pyenv one without these packages

if ! "$py" -c 'import statsmodels, sklearn, threadpoolctl' 2>/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "compare.sh: $py lacks statsmodels/scikit-learn: run 'apt-get install -y python3-statsmodels python3-sklearn' as root" >&2
    exit 1
  fi
  echo "compare.sh: installing python3-statsmodels python3-sklearn from Debian" >&2
  apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-statsmodels python3-sklearn >&2
fi

if [ -n "${KEEP:-}" ]; then
  work=$(mkdir -p "$KEEP" && realpath "$KEEP")
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
(cd "$root" && go build -tags duckdb_arrow -o "$work/m3eval" ./bench/m3eval &&
  go build -tags duckdb_arrow -o "$work/winprobmatrix" ./bench/winprobmatrix)

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
# kv KEY LINE: the value of KEY=value in a key=value line.
kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
# timed RUNS CMD...: run CMD RUNS times, print the median wall time in seconds.
timed() {
  local n=$1 t0 t1
  shift
  : >"$work/wall"
  for _ in $(seq "$n"); do
    t0=$(now)
    "$@" >"$work/cmd.out" 2>"$work/cmd.err" || { cat "$work/cmd.out" "$work/cmd.err" >&2; exit 1; }
    t1=$(now)
    { calc "$t1 - $t0"; echo; } >>"$work/wall"
  done
  median <"$work/wall" | awk '{printf "%.2f", $1}'
}

out=$work/compare.txt
log() { echo "$@" | tee -a "$out"; }
: >"$out"
log "# revcast vs Python — $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo +dirty)"
log "# $(nproc) cores, load average at start $(cut -d' ' -f1-3 /proc/loadavg); $("$py" -c 'import statsmodels, sklearn, numpy, scipy; print(f"statsmodels {statsmodels.__version__}, scikit-learn {sklearn.__version__}, numpy {numpy.__version__}, scipy {scipy.__version__}")')"

# --- 1. AutoETS vs statsmodels ETS on M3 monthly ---------------------------------------
"$work/m3eval" split --in "$datasets/m3/m3_monthly.csv" --every "$every" --train "$work/train.csv" --test "$work/test.csv" 2>"$work/split.err" ||
  { cat "$work/split.err" >&2; exit 1; }
subset=$(sed -n 's/^m3eval split: //p' "$work/split.err")
log ""
log "## AutoETS on M3 monthly: $subset (every ${every}th series in file order), h=18, m=12, RUNS=$runs"
score() { "$work/m3eval" score --train "$work/train.csv" --test "$work/test.csv" --forecast "$1" --season 12; }

rc_all=$(timed "$runs" "$bin" timeseries --in "$work/train.csv" --horizon 18 --season 12 --method ets --out "$work/fc_revcast.csv" --log-level error)
rc_one=$(GOMAXPROCS=1 timed "$runs" "$bin" timeseries --in "$work/train.csv" --horizon 18 --season 12 --method ets --out "$work/fc_revcast1.csv" --log-level error)
rc_score=$(score "$work/fc_revcast.csv")
log "revcast timeseries --method ets, all cores:   wall ${rc_all}s; $rc_score"
log "revcast timeseries --method ets, GOMAXPROCS=1: wall ${rc_one}s"
py_flags=()
[ "$py_intervals" = 1 ] || py_flags=(--no-intervals)
py_wall=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 timed "$runs" "$py" "$root/bench/python/ets_statsmodels.py" \
  --in "$work/train.csv" --horizon 18 --season 12 --out "$work/fc_statsmodels.csv" --out-guarded "$work/fc_statsmodels_guarded.csv" "${py_flags[@]}")
py_note=$(cat "$work/cmd.err")
py_score=$(score "$work/fc_statsmodels.csv")
pyg_score=$(score "$work/fc_statsmodels_guarded.csv")
log "statsmodels ETSModel (one process, one thread): wall ${py_wall}s; $py_score"
log "  same fits, degenerate multiplicative-error fits excluded from the selection: $pyg_score"
log "  $py_note"

# --- 2. Logistic fit vs scikit-learn ----------------------------------------------------
log ""
if [ -n "${WAREHOUSE:-}" ]; then
  wh=$(realpath "$WAREHOUSE")
  log "## Logistic regression on the win-probability matrix of $wh (as-of $asof)"
else
  log "## Logistic regression on the win-probability matrix of a $scale demo (seed 42, as-of $asof)"
  "$bin" demo --dir "$work/demo" --scale "$scale" --seed 42 --as-of "$asof" >"$work/demo.out" 2>&1 ||
    { cat "$work/demo.out" >&2; exit 1; }
  wh=$work/demo/data/warehouse.duckdb
fi
"$work/winprobmatrix" --warehouse "$wh" --as-of "$asof" --train "$work/logit_train.csv" --test "$work/logit_test.csv" \
  --coef "$work/logit_coef.csv" --runs 5 --check >"$work/wpm.out"
tee -a "$out" <"$work/wpm.out"
lambda=$(kv lambda "$(grep '^matrix ' "$work/wpm.out")")
"$py" "$root/bench/python/logit_sklearn.py" --train "$work/logit_train.csv" --test "$work/logit_test.csv" \
  --lambda "$lambda" --runs 5 --coef "$work/logit_coef.csv" >"$work/sk.out"
tee -a "$out" <"$work/sk.out"

rc_fit_all=$(grep '^revcast_fit workers=all' "$work/wpm.out")
rc_fit_one=$(grep '^revcast_fit workers=1 ' "$work/wpm.out")
sk_fit_all=$(grep '^sklearn_fit threads=default' "$work/sk.out")
sk_fit_one=$(grep '^sklearn_fit threads=1 ' "$work/sk.out")
matrix=$(grep '^matrix ' "$work/wpm.out")

# --- the table ------------------------------------------------------------------------
ratio() { calc "$1 / $2" | awk '{printf "%.2f", $1}'; }
log ""
log "## Ratios Python / revcast (time: > 1 means revcast is faster; error: > 1 means revcast is more accurate)"
{
  printf '%-58s %12s %12s %8s\n' comparison revcast python ratio
  printf '%-58s %12s %12s %8s\n' "ETS M3 monthly, $(kv series "$rc_score") series: wall s, revcast all cores" "$rc_all" "$py_wall" "$(ratio "$py_wall" "$rc_all")"
  printf '%-58s %12s %12s %8s\n' "  wall s, revcast GOMAXPROCS=1 (like for like)" "$rc_one" "$py_wall" "$(ratio "$py_wall" "$rc_one")"
  printf '%-58s %12s %12s %8s\n' "  sMAPE" "$(kv smape "$rc_score")" "$(kv smape "$py_score")" "$(ratio "$(kv smape "$py_score")" "$(kv smape "$rc_score")")"
  printf '%-58s %12s %12s %8s\n' "  MASE" "$(kv mase "$rc_score")" "$(kv mase "$py_score")" "$(ratio "$(kv mase "$py_score")" "$(kv mase "$rc_score")")"
  printf '%-58s %12s %12s %8s\n' "  80% / 95% interval coverage" "$(kv cov80 "$rc_score")/$(kv cov95 "$rc_score")" \
    "$(kv cov80 "$py_score")/$(kv cov95 "$py_score")" "-"
  printf '%-58s %12s %12s %8s\n' "  sMAPE, statsmodels without degenerate fits" "$(kv smape "$rc_score")" "$(kv smape "$pyg_score")" "$(ratio "$(kv smape "$pyg_score")" "$(kv smape "$rc_score")")"
  printf '%-58s %12s %12s %8s\n' "  MASE, statsmodels without degenerate fits" "$(kv mase "$rc_score")" "$(kv mase "$pyg_score")" "$(ratio "$(kv mase "$pyg_score")" "$(kv mase "$rc_score")")"
  printf '%-58s %12s %12s %8s\n' "  coverage, statsmodels without degenerate fits" "$(kv cov80 "$rc_score")/$(kv cov95 "$rc_score")" \
    "$(kv cov80 "$pyg_score")/$(kv cov95 "$pyg_score")" "-"
  printf '%-58s %12s %12s %8s\n' "logistic fit, $(kv train_rows "$matrix") x $(kv cols "$matrix"): median s, all cores" \
    "$(kv median_s "$rc_fit_all")" "$(kv median_s "$sk_fit_all")" "$(ratio "$(kv median_s "$sk_fit_all")" "$(kv median_s "$rc_fit_all")")"
  printf '%-58s %12s %12s %8s\n' "  median s, one thread each" \
    "$(kv median_s "$rc_fit_one")" "$(kv median_s "$sk_fit_one")" "$(ratio "$(kv median_s "$sk_fit_one")" "$(kv median_s "$rc_fit_one")")"
  printf '%-58s %12s %12s %8s\n' "  held-out log-loss ($(kv test_rows "$matrix") rows)" \
    "$(kv test_logloss "$rc_fit_all")" "$(kv test_logloss "$sk_fit_all")" "$(ratio "$(kv test_logloss "$sk_fit_all")" "$(kv test_logloss "$rc_fit_all")")"
  printf '%-58s %12s %12s %8s\n' "  training objective f (mean loss + lambda/2 |w|^2)" \
    "$(kv objective "$rc_fit_all")" "$(kv objective "$sk_fit_all")" "-"
} | tee -a "$out"
log "# ETS: the same training CSV and scorer for both; statsmodels' intervals: $([ "$py_intervals" = 1 ] && echo "exact for ANN/AAN/AAdN/ANA/AAA/AAdA, 1,000 simulated paths otherwise" || echo "off (PY_INTERVALS=0)")."
log "# 'without degenerate fits': the smallest AICc among statsmodels' fits whose one-step forecasts are all > 0 when the error is"
log "#   multiplicative (its optimiser leaves the initial states unbounded and finds fits forecasting -1e8 for a series near 3,000)."
log "# Logistic: scikit-learn C = 1/(n lambda) with lambda = $lambda, tol = n * 1e-5, columns standardised as revcast does; times exclude reading data."
mkdir -p "$root/bench/results"
cp "$out" "$root/bench/results/compare.txt"
