#!/usr/bin/env bash
# Runs one confab-bench scenario against a server that does no work for
# the scenario's measured calls (cmd/confab-nullserver), in front of a fresh
# confab that serves the bench's set-up, then stops both:
#
#   scripts/bench-floor.sh <send|hot> <nethttp|fasthttp> [confab-bench flags]
#
# The figures are the floor of this machine for the scenario: what the
# bench's clients and an HTTP server reach when the server does nothing
# but answer (send: chat.postMessage, hot: conversations.history, each
# answered with the first answer confab gave). Compare them with the
# scenario against confab itself, in the same hour. CONFAB_FLOOR_BASE
# (default 18700) is confab's port; the null server takes the next.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 <send|hot> <nethttp|fasthttp> [confab-bench flags]" >&2; exit 2; }
scenario=$1 engine=$2
shift 2
case $scenario in
  send) method=chat.postMessage ;;
  hot) method=conversations.history ;;
  *) echo "$0: no floor for scenario $scenario" >&2; exit 2 ;;
esac
base=${CONFAB_FLOOR_BASE:-18700}
dir=$(mktemp -d /tmp/confab-bench-floor.XXXXXX)
pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap stop EXIT
go build -tags sqlite_fts5 -o "$dir/confab" ./cmd/confab
go build -o "$dir/confab-bench" ./cmd/confab-bench
go build -o "$dir/confab-nullserver" ./cmd/confab-nullserver
"$dir/confab" serve -listen "127.0.0.1:$base" -data "$dir/data" -rate-limit 1000000 -rate-burst 1000000 \
  -auth-rate-limit 100000 -password-cost 4 -max-conns-per-user 0 -max-conns-per-addr 0 -handshake-rate 0 2>"$dir/confab.log" &
pids+=($!)
"$dir/confab-nullserver" -listen "127.0.0.1:$((base + 1))" -upstream "http://127.0.0.1:$base" -method "$method" \
  -engine "$engine" >"$dir/null.addr" 2>"$dir/null.log" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$((base + 1))/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
"$dir/confab-bench" "$scenario" -url "http://127.0.0.1:$((base + 1))" "$@"
