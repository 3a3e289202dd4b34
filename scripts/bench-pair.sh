#!/usr/bin/env bash
# Runs one confab-bench scenario against two builds of confab in turn,
# A B A B …, each run against a fresh server with a fresh data directory,
# so that a change is told from the machine's drift (the machine is shared
# and its speed moves within the hour):
#
#   scripts/bench-pair.sh <rev A> <rev B> [runs] -- <scenario> [confab-bench flags]
#
# e.g. posting throughput with the search index (A) against the commit
# before it (B), five pairs:
#
#   scripts/bench-pair.sh HEAD <commit before the index> 5 -- send -posters 64 -duration 10s
#
# Both servers are built from their revision with -tags sqlite_fts5 (a
# revision without FTS5 ignores it) and run as BENCHMARKS.md's servers do
# (SQLite, synchronous=full); the bench is this checkout's. Each run's
# report is kept in the work directory (printed first, removed at the end
# unless CONFAB_PAIR_KEEP=1); for send each run prints its msgs/s and p99,
# and the last lines each side's median and the median of the pairs' A/B.
# CONFAB_PAIR_PORT (default 18800) is the servers' port.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: $0 <rev A> <rev B> [runs] -- <scenario> [confab-bench flags]" >&2; exit 2; }
[ $# -ge 4 ] || usage
revA=$1 revB=$2
shift 2
runs=5
if [ "$1" != "--" ]; then runs=$1; shift; fi
[ "${1:-}" = "--" ] || usage
shift
scenario=$1
port=${CONFAB_PAIR_PORT:-18800}
dir=$(mktemp -d /tmp/confab-bench-pair.XXXXXX)
echo "work directory: $dir" >&2
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  [ "${CONFAB_PAIR_KEEP:-}" = 1 ] || rm -rf "$dir"
}
trap cleanup EXIT

build() { # side rev
  mkdir -p "$dir/src-$1"
  git archive "$2" | tar -x -C "$dir/src-$1"
  (cd "$dir/src-$1" && go build -tags sqlite_fts5 -o "$dir/confab-$1" ./cmd/confab)
  echo "$1 = $(git rev-parse --short "$2")" >&2
}
build A "$revA"
build B "$revB"
go build -tags sqlite_fts5 -o "$dir/confab-bench" ./cmd/confab-bench

once() { # side run scenario [flags]
  local side=$1 run=$2
  shift 2
  local data="$dir/data-$side-$run" out="$dir/$side-$run.txt"
  "$dir/confab-$side" serve -listen "127.0.0.1:$port" -data "$data" -rate-limit 1000000 -rate-burst 1000000 \
    -auth-rate-limit 100000 -password-cost 4 -max-conns-per-user 0 -max-conns-per-addr 0 -handshake-rate 0 \
    -log-level warn 2>"$dir/server-$side-$run.log" &
  server=$!
  for _ in $(seq 1 200); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.05
  done
  "$dir/confab-bench" "$@" -url "http://127.0.0.1:$port" -quiet >"$out" 2>&1 || echo "$side run $run: confab-bench failed (see $out)" >&2
  kill "$server"; wait "$server" 2>/dev/null || true
  server=
  rm -rf "$data"
  if [ "$scenario" = send ]; then
    awk -v side="$side" -v run="$run" '$1 == "throughput" { r = $2 } $1 == "latency" { p = $5 }
      END { printf "%s run %s: %s msgs/s, p99 %s\n", side, run, r, p }' "$out"
  else
    echo "$side run $run:"; cat "$out"
  fi
}

shift
for i in $(seq 1 "$runs"); do
  once A "$i" "$scenario" "$@"
  once B "$i" "$scenario" "$@"
done

if [ "$scenario" = send ]; then
  median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  rate() { awk '$1 == "throughput" { print $2 }' "$dir/$1-$2.txt"; }
  for side in A B; do
    m=$(for i in $(seq 1 "$runs"); do rate "$side" "$i"; done | median)
    echo "$side median: $m msgs/s"
  done
  r=$(for i in $(seq 1 "$runs"); do a=$(rate A "$i"); b=$(rate B "$i"); awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.4f\n", a / b }'; done | median)
  echo "A/B median of the pairs: $r"
fi
