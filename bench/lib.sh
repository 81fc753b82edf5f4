# Shared by the bench scripts (sourced, not run). The caller sets $bin (the revcast binary),
# $work (its scratch folder) and $port, the sandbox's Salesforce port (SAP listens on
# $port + 3).

# The company's date, fixed when the script starts: a sandbox restarted after midnight UTC
# serves the same company (the generator dates it from its as-of).
bench_as_of=${ASOF:-$(date -u +%F)}

# start_sandbox SCALE: serves the company of SCALE (seed 42, as of $bench_as_of, CSV exports
# in $work/exports) in the background and returns once it listens; sets sandbox_pid.
start_sandbox() {
  rm -f "$work/sandbox.out" # a restart must not take the last sandbox's "Stop with" for its own
  "$bin" sandbox --addr "127.0.0.1:$port" --scale "$1" --split salesforce --seed 42 --as-of "$bench_as_of" \
    --exports "$work/exports" >"$work/sandbox.out" 2>&1 &
  sandbox_pid=$!
  until grep -q "Stop with" "$work/sandbox.out" 2>/dev/null; do
    kill -0 "$sandbox_pid" 2>/dev/null || { cat "$work/sandbox.out"; exit 1; }
    sleep 0.2
  done
}

# restart_sandbox SCALE: stops the sandbox and serves the same company afresh (seed and
# as-of fix it), so that what an earlier write-back or mutation changed in the org is gone.
restart_sandbox() {
  kill "$sandbox_pid" 2>/dev/null || true
  wait "$sandbox_pid" 2>/dev/null || true
  start_sandbox "$1"
}

# sandbox_alive: exits the script, saying why, when the sandbox has died (say, killed for
# memory at a large scale), instead of failing later on a connection or a missing /proc file.
sandbox_alive() {
  kill -0 "$sandbox_pid" 2>/dev/null && return
  echo "bench: the sandbox (pid $sandbox_pid) has died; its last output:" >&2
  tail -20 "$work/sandbox.out" >&2
  exit 1
}

# proc_cpu PID: the processor seconds (user + system, every thread) process PID has used so
# far, from /proc/PID/stat (utime and stime, fields 14 and 15, in clock ticks; proc(5)).
proc_cpu() {
  local ticks
  ticks=$(getconf CLK_TCK)
  sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$ticks" '{printf "%.2f\n", ($12 + $13) / hz}'
}

# mutate_one_percent SEED: the sandbox changes 1% of the records of every object and entity
# set, chosen by SEED. OpportunityHistory rows are never modified in Salesforce: each
# changed Opportunity adds one, as the sandbox does.
mutate_one_percent() {
  local seed=$1 sf="http://127.0.0.1:$port" sap="http://127.0.0.1:$((port + 3))" obj n
  # Salesforce: {"Account":{"deleted":0,"live":6206},...}; not revcast's own write-back objects
  curl -fsS "$sf/__sandbox/counts" | grep -o '"[A-Za-z0-9_]*":{"deleted":[0-9]*,"live":[0-9]*}' |
    sed 's/"\([^"]*\)".*"live":\([0-9]*\)}/\1 \2/' | while read -r obj n; do
      case "$obj" in Revenue_Forecast__c|Task|OpportunityHistory) continue ;; esac
      [ "$n" -ge 100 ] || continue
      curl -fsS -X POST "$sf/__sandbox/mutate?object=$obj&changed=$((n / 100))&seed=$seed" >/dev/null
    done
  # SAP: {"A_SalesOrder":n,...}
  curl -fsS "$sap/__sandbox/sap/counts" | grep -o '"[A-Za-z0-9_]*":[0-9]*' | tr -d '"' | tr ':' ' ' |
    while read -r obj n; do
      [ "$n" -ge 100 ] || continue
      # item sets without LastChangeDateTime answer 400: they change with their header
      curl -fsS -X POST "$sap/__sandbox/sap/mutate?set=$obj&changed=$((n / 100))&seed=$seed" >/dev/null 2>&1 || true
    done
}
