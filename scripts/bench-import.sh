#!/usr/bin/env bash
# Times "confab import slack" of a made-up export into a fresh server:
#
#   scripts/bench-import.sh <sqlite|postgres> [messages] [live]
#
# It writes an export of MESSAGES messages (default 1,000,000) over 200
# channels and 2,000 users (confab-bench slackexport: threads, reactions,
# mentions, 30 days per channel; kept in /tmp/confab-import-<messages>.zip,
# or CONFAB_IMPORT_ZIP, for later runs), starts "confab serve" on a fresh
# data directory (sqlite) or on a throwaway PostgreSQL (postgres, where
# CONFAB_IMPORT_PG_OPTIONS adds "-c name=value" settings), signs up the
# workspace's owner, imports, and prints the import's msgs/s (users and
# conversations included), the importer's peak RSS, and the CPU seconds
# of the server (and of PostgreSQL) over the import.
#
# With "live" it measures the import's effect on live traffic instead:
# "confab-bench send -posters 64 -duration 10s" into another workspace of
# the same server, alone and while an import runs, alternating twice
# (alone, import, alone, import); each import goes into a workspace of
# its own. MESSAGES should make an import outlast the send (200,000 or
# more). CONFAB_IMPORT_BASE (default 18900) is the server's port, +1
# PostgreSQL's.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 <sqlite|postgres> [messages] [live]" >&2; exit 2; }
store=$1 messages=${2:-1000000} mode=${3:-}
case $store in sqlite|postgres) ;; *) echo "$0: store $store: want sqlite or postgres" >&2; exit 2 ;; esac
base=${CONFAB_IMPORT_BASE:-18900}
url=http://127.0.0.1:$base
dir=$(mktemp -d /tmp/confab-bench-import.XXXXXX)
chmod 755 "$dir"
pgbin=$(dirname "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
server=
stop() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  [ -d "$dir/pg" ] && { as_pg "$pgbin/pg_ctl" -D "$dir/pg" -m fast stop >/dev/null 2>&1 || true; }
  rm -rf "$dir"
}
trap stop EXIT

go build -tags sqlite_fts5 -o "$dir/confab" ./cmd/confab
go build -o "$dir/confab-bench" ./cmd/confab-bench
export_zip=${CONFAB_IMPORT_ZIP:-/tmp/confab-import-$messages.zip}
if [ ! -s "$export_zip" ]; then
  "$dir/confab-bench" slackexport -o "$export_zip.tmp" -messages "$messages" -channels 200 -users 2000 -days 30 >&2
  mv "$export_zip.tmp" "$export_zip"
fi

db=(-data "$dir/data")
if [ "$store" = postgres ]; then
  mkdir -p "$dir/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$dir/pg"
  as_pg "$pgbin/initdb" -D "$dir/pg" -U confab --auth=trust --no-sync >/dev/null
  as_pg "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $((base + 1)) -c unix_socket_directories=$dir/pg ${CONFAB_IMPORT_PG_OPTIONS:-}" start >/dev/null
  db+=(-postgres "postgres://confab@127.0.0.1:$((base + 1))/postgres?sslmode=disable")
fi
"$dir/confab" serve -listen "127.0.0.1:$base" "${db[@]}" -rate-limit 1000000 -rate-burst 1000000 \
  -auth-rate-limit 100000 -password-cost 4 -max-conns-per-user 0 -max-conns-per-addr 0 -handshake-rate 0 \
  -log-level warn 2>"$dir/confab.log" &
server=$!
for _ in $(seq 1 100); do
  curl -fs "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$url/healthz" >/dev/null || { tail -n 20 "$dir/confab.log" >&2; exit 1; }

owner() { # signs up a new workspace; prints its owner's token
  local n
  n=$(date +%s%N)
  curl -fs "$url/api/auth.signup" -d "team=import-$n" -d name=owner -d "password=import password $n" |
    sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
cpu() { # the server's CPU seconds so far
  awk -v t="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / t }' "/proc/$server/stat"
}
pgcpu() { # PostgreSQL's CPU seconds so far, its processes' and their exited children's
  [ -d "$dir/pg" ] || { echo 0; return; }
  local pm
  pm=$(head -n 1 "$dir/pg/postmaster.pid")
  for p in /proc/[0-9]*/stat; do
    awk -v pm="$pm" '{ pid = $1; sub(/.*\) /, ""); if (pid == pm || $2 == pm) print $12 + $13 + $14 + $15 }' "$p" 2>/dev/null
  done | awk -v t="$(getconf CLK_TCK)" '{ s += $1 } END { print s / t }'
}
import() { # imports the export into a new workspace; prints the figures
  local token cpu0 pg0 t0 t1
  token=$(owner)
  cpu0=$(cpu) pg0=$(pgcpu)
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$dir/rss" "$dir/confab" import slack --url "$url" --token "$token" "$export_zip" \
    >"$dir/import.out" 2>"$dir/import.err" || { cat "$dir/import.err" >&2; exit 1; }
  t1=$(date +%s.%N)
  grep '^imported:' "$dir/import.out"
  awk -v m="$messages" -v t0="$t0" -v t1="$t1" -v c0="$cpu0" -v c1="$(cpu)" -v p0="$pg0" -v p1="$(pgcpu)" \
    -v rss="$(cat "$dir/rss")" 'BEGIN {
    printf "import (%s): %d messages in %.1f s: %.0f msgs/s; importer peak RSS %.0f MB; server CPU %.1f s (%.1f s per 100k messages)",
      ENVIRON["store"], m, t1 - t0, m / (t1 - t0), rss / 1024, c1 - c0, (c1 - c0) * 100000 / m
    if (ENVIRON["store"] == "postgres") printf "; PostgreSQL CPU %.1f s", p1 - p0
    printf "\n" }'
  # The server's work after the import (SQLite indexes imported messages
  # in the background): until its CPU is still for a second.
  local c0 c1 t2
  c0=$(cpu)
  while :; do
    c1=$(cpu)
    sleep 1
    awk -v a="$c1" -v b="$(cpu)" 'BEGIN { exit !(b - a < 0.05) }' && break
  done
  t2=$(date +%s.%N)
  awk -v t1="$t1" -v t2="$t2" -v c0="$c0" -v c1="$(cpu)" -v m="$messages" -v t0="$t0" 'BEGIN {
    printf "after the import: the server busy %.1f s more (CPU %.1f s): searchable %.1f s after the start, %.0f msgs/s\n",
      t2 - t1 - 1, c1 - c0, t2 - 1 - t0, m / (t2 - 1 - t0) }'
}
export store

if [ "$mode" != live ]; then
  import
  exit
fi
send() { # prints send's msgs/s
  "$dir/confab-bench" send -url "$url" -posters 64 -duration 10s -json -quiet | sed -n 's/.*"msgs_per_s": *\([0-9.]*\).*/\1/p' | head -n 1
}
for round in 1 2; do
  alone=$(send)
  echo "round $round: send alone: $alone msgs/s"
  import >"$dir/import.log" &
  imp=$!
  sleep 2
  during=$(send)
  wait "$imp"
  echo "round $round: send during the import: $during msgs/s ($(awk -v a="$alone" -v d="$during" 'BEGIN { printf "%.0f %%", 100 * d / a }') of alone)"
  sed 's/^/  /' "$dir/import.log"
done
