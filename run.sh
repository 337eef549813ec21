#!/usr/bin/env bash
# Starts a local Bastion cluster: 4 replicas (f = 1) on 127.0.0.1, in the foreground.
#
#   ./run.sh            build (Release), create ./var/local-cluster if absent, start 4 replicas,
#                       print a status line every few seconds; Ctrl-C (or SIGINT/SIGTERM to this
#                       process) stops them
#   ./run.sh demo       the same cluster, then the ReD leader election demo (docs/red.md): three
#                       nodes elect a writer, the writer and a copier crash, a replica of the
#                       service crashes, and the properties are checked; exits 0 if they hold
#
# The cluster (configuration, keys, certificates, replica data) lives in ./var/local-cluster and is
# reused by the next ./run.sh. Replica logs: ./var/local-cluster/logs/replica-N.log.
# Environment: BASTION_BASE_PORT (default 7000) for a new cluster; BASTION_STATUS_EVERY seconds
# between status lines (default 5).
set -euo pipefail
cd "$(dirname "$0")"

root=$PWD
cluster_dir=$root/var/local-cluster
cluster_file=$cluster_dir/cluster.toml
build_dir=$root/build-release
bin=$build_dir/bin
every=${BASTION_STATUS_EVERY:-5}
mode=${1:-serve}
if [[ $mode != serve && $mode != demo ]]; then
  echo "usage: ./run.sh [demo]" >&2
  exit 2
fi

scripts/install-deps
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBASTION_TESTS=OFF \
  -DBASTION_BENCH=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target bastiond bastion bastion-red

if [[ ! -f $cluster_file ]]; then
  mkdir -p "$root/var"
  "$bin/bastion" cluster init --replicas 4 --host 127.0.0.1 \
    --base-port "${BASTION_BASE_PORT:-7000}" --clients 3 --out "$cluster_dir" >/dev/null
  echo "run.sh: created a new cluster in $cluster_dir"
else
  echo "run.sh: reusing the cluster in $cluster_dir"
fi
mkdir -p "$cluster_dir/logs"

pids=()
demo_pid=""
status=0
stop_all() {
  trap - INT TERM EXIT
  if [[ -n $demo_pid ]]; then
    kill -TERM "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
  fi
  if ((${#pids[@]})); then
    echo
    echo "run.sh: stopping replicas"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 100); do
      alive=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      ((alive)) || break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  exit "$status"
}
trap stop_all INT TERM EXIT

for id in 0 1 2 3; do
  "$bin/bastiond" --cluster "$cluster_file" --id "$id" >>"$cluster_dir/logs/replica-$id.log" 2>&1 &
  pids+=($!)
done

export BASTION_CLUSTER=$cluster_file
cli=("$bin/bastion" --cluster "$cluster_file")

# Wait until every replica answers.
for _ in $(seq 300); do
  if "${cli[@]}" --timeout 1 status 2>/dev/null | awk 'NR > 1 && $3 != "yes" { bad = 1 } END { exit bad }' &&
    [[ $("${cli[@]}" --timeout 1 status 2>/dev/null | awk 'NR > 1 && $3 == "yes"' | wc -l) -eq 4 ]]; then
    break
  fi
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "run.sh: replica $i exited; its log ($cluster_dir/logs/replica-$i.log) ends with:" >&2
      tail -n 5 "$cluster_dir/logs/replica-$i.log" >&2
      exit 1
    fi
  done
  sleep 0.2
done

if [[ $mode == demo ]]; then
  # In the background and waited for, so that a signal to this script stops everything at once
  # (bash runs a trap only after its foreground child returns).
  BIN=$bin CLUSTER_FILE=$cluster_file DEMO_DIR=$root/var/red-demo REPLICA_PIDS="${pids[*]}" \
    scripts/red-demo &
  demo_pid=$!
  wait "$demo_pid" || status=$?
  demo_pid=""
  stop_all
fi

cat <<MSG

Bastion is running: 4 replicas on 127.0.0.1 (cluster file $cluster_file).
In another terminal:

    export BASTION_CLUSTER=$cluster_file
    $bin/bastion shell                 # interactive; try: space create jobs
    $bin/bastion out jobs '("job", 1)'
    $bin/bastion rdp jobs '("job", *)'
    $bin/bastion status

Press Ctrl-C to stop the replicas.

MSG

while true; do
  # sleep in the background and wait for it: a signal interrupts `wait` at once, where a
  # foreground sleep would hold the trap until it ends (and a SIGINT it survives is ignored).
  sleep "$every" &
  wait $! || true
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "$(date +%T) replica $i is not running (see $cluster_dir/logs/replica-$i.log)"
    fi
  done
  "${cli[@]}" --timeout 2 status 2>/dev/null | awk -v now="$(date +%T)" '
    NR > 1 { total++; if ($3 == "yes") { up++; view = $4; primary = $5;
             if ($6 > exec) exec = $6; if ($7 > stable) stable = $7 } }
    END { printf "%s replicas up %d/%d  view %s  primary %s  executed %s  stable checkpoint %s\n",
                 now, up, total, view, primary, exec + 0, stable + 0 }' ||
    echo "$(date +%T) status: no answer"
done
