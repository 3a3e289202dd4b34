#!/usr/bin/env bash
# Runs one confab-bench scenario against a fresh local cluster
# (scripts/cluster.sh), then stops the cluster:
#
#   scripts/bench-cluster.sh <scenario> [confab-bench flags]
#
# The bench talks to the first API process; idle adds up the metrics of
# pocket a's gateways (where its connections are), hot those of the API
# processes (where its reads are). With CONFAB_BENCH_KILL=<signal> (KILL or
# TERM), "storm -wait-for-drop" gets the second gateway of pocket a killed
# with that signal once the bench waits for the drop. CONFAB_CLUSTER_BASE
# and CONFAB_CLUSTER_GATEWAYS pass on to cluster.sh; the cluster's
# processes get limits that do not throttle the bench.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 <scenario> [confab-bench flags]" >&2; exit 2; }
scenario=$1
shift
base=${CONFAB_CLUSTER_BASE:-18000}
export CONFAB_RATE_LIMIT=1000000 CONFAB_RATE_BURST=1000000 CONFAB_AUTH_RATE_LIMIT=100000 CONFAB_PASSWORD_COST=4 \
  CONFAB_MAX_CONNS_PER_USER=0 CONFAB_MAX_CONNS_PER_ADDR=0 CONFAB_HANDSHAKE_RATE=0

work=$(mktemp -d /tmp/confab-bench-cluster.XXXXXX)
banner=$work/banner
cluster=
stop() { # keeps the bench's exit status
  if [ -n "$cluster" ]; then
    kill "$cluster" 2>/dev/null || true
    wait "$cluster" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT
go build -o "$work/confab-bench" ./cmd/confab-bench
bash scripts/cluster.sh >"$banner" &
cluster=$!
until grep -q "Ctrl-C stops it" "$banner"; do
  kill -0 "$cluster" 2>/dev/null || exit 1
  sleep 0.5
done
cat "$banner" >&2
dir=$(sed -n 's/.*(logs in \(.*\)):$/\1/p' "$banner")
case $scenario in
  idle) metrics=$(sed -n "s/.*metrics of pocket a's gateways *//p" "$banner") ;;
  *) metrics=$(sed -n 's/.*metrics of the API processes *//p' "$banner") ;;
esac

bench=("$work/confab-bench" "$scenario" -url "http://127.0.0.1:$((base + 80))" -metrics-url "$metrics" "$@")
if [ -z "${CONFAB_BENCH_KILL:-}" ]; then
  "${bench[@]}"
  exit
fi
victim=$(cat "$dir/gateway-$((base + 92)).pid")
"${bench[@]}" 2> >(while IFS= read -r line; do
  printf '%s\n' "$line" >&2
  if [[ $line == *"waiting for the connections to drop"* ]]; then
    kill -s "$CONFAB_BENCH_KILL" "$victim"
    echo "bench-cluster.sh: sent SIG$CONFAB_BENCH_KILL to the gateway on port $((base + 92)) (pid $victim)" >&2
  fi
done)
