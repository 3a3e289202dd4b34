#!/usr/bin/env bash
# Runs a local confab cluster on loopback, for trying the scale-out set-up:
#   PostgreSQL                 127.0.0.1:$BASE+432   (one database for every process)
#   Redis of pocket a          127.0.0.1:$BASE+379   (workspaces: default)
#   Redis of pocket b          127.0.0.1:$BASE+380   (workspaces: "beta")
#   API processes              http://127.0.0.1:$BASE+80, $BASE+81
#   gateways of pocket a       ws://127.0.0.1:$BASE+91, $BASE+92 (then $BASE+95, $BASE+96, …)
#   gateways of pocket b       ws://127.0.0.1:$BASE+93, $BASE+94
# BASE defaults to 18000 (CONFAB_CLUSTER_BASE). Pocket a has 2 gateways, or
# CONFAB_CLUSTER_GATEWAYS (at most 20): each process may hold 20,000 open
# files, so 100,000 connections need 6 or more. Each process's metrics are
# at its port's /metrics, and each gateway's pid is in gateway-<port>.pid in
# the log directory (kill one to drop its clients). Everything lives in a
# temporary directory and stops on Ctrl-C. Needs PostgreSQL's server
# binaries and redis-server (scripts/test.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."

base=${CONFAB_CLUSTER_BASE:-18000}
gateways=${CONFAB_CLUSTER_GATEWAYS:-2}
if ! [[ $gateways =~ ^[0-9]+$ ]] || [ "$gateways" -lt 1 ] || [ "$gateways" -gt 20 ]; then
  echo "CONFAB_CLUSTER_GATEWAYS=$gateways: want 1 to 20 gateways for pocket a" >&2
  exit 2
fi
# Pocket a's gateway ports: base+91 and base+92 first, then past pocket b's.
a_ports=()
for i in $(seq 0 $((gateways - 1))); do
  if [ "$i" -lt 2 ]; then a_ports+=($((base + 91 + i))); else a_ports+=($((base + 93 + i))); fi
done
b_ports=($((base + 93)) $((base + 94)))
dir=$(mktemp -d /tmp/confab-cluster.XXXXXX)
chmod 755 "$dir"
pids=()

pgbin=$(dirname "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
as_pg() { # PostgreSQL refuses to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  trap - EXIT INT TERM
  echo "stopping the cluster" >&2
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  as_pg "$pgbin/pg_ctl" -D "$dir/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

echo "building confab" >&2
go build -tags sqlite_fts5 -o "$dir/confab" ./cmd/confab

echo "starting PostgreSQL" >&2
mkdir -p "$dir/pg"
[ "$(id -u)" = 0 ] && chown postgres "$dir/pg"
as_pg "$pgbin/initdb" -D "$dir/pg" -U confab --auth=trust --no-sync >/dev/null
as_pg "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $((base + 432)) -c unix_socket_directories=$dir/pg" start >/dev/null
dsn="postgres://confab@127.0.0.1:$((base + 432))/postgres?sslmode=disable"

echo "starting Redis for pockets a and b" >&2
for port in $((base + 379)) $((base + 380)); do
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --logfile "$dir/redis-$port.log" &
  pids+=($!)
done
# The processes below connect to Redis as they start: wait until both listen.
for port in $((base + 379)) $((base + 380)); do
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "redis-server on port $port did not come up; logs in $dir" >&2; tail -n 20 "$dir/redis-$port.log" >&2; exit 1; }
done

cat > "$dir/pockets.toml" <<TOML
[[pocket]]
name = "a"
redis = "127.0.0.1:$((base + 379))"
default = true

[[pocket]]
name = "b"
redis = "127.0.0.1:$((base + 380))"
workspaces = ["beta"]
TOML

secret=$(head -c 24 /dev/urandom | base64)
common=(-postgres "$dsn" -pockets "$dir/pockets.toml" -ticket-secret "$secret")
start() { # role port [pocket]
  local role=$1 port=$2 extra=()
  [ "$role" = gateway ] && extra=(-pocket "$3" -public-url "ws://127.0.0.1:$port")
  "$dir/confab" "$role" -listen "127.0.0.1:$port" "${common[@]}" "${extra[@]}" 2>"$dir/$role-$port.log" &
  pids+=($!)
  echo $! > "$dir/$role-$port.pid"
}
start api $((base + 80))
start api $((base + 81))
for port in "${a_ports[@]}"; do start gateway "$port" a; done
for port in "${b_ports[@]}"; do start gateway "$port" b; done

for port in $((base + 80)) $((base + 81)) "${a_ports[@]}" "${b_ports[@]}"; do
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { echo "process on port $port did not come up; logs in $dir" >&2; tail -n 20 "$dir"/*-"$port".log >&2; exit 1; }
done

cat <<MSG
confab cluster running (logs in $dir):
  API        http://127.0.0.1:$((base + 80))   http://127.0.0.1:$((base + 81))   (web client at either)
  pocket a   $(printf 'ws://127.0.0.1:%s   ' "${a_ports[@]}")Redis 127.0.0.1:$((base + 379))   (every workspace but beta)
  pocket b   $(printf 'ws://127.0.0.1:%s   ' "${b_ports[@]}")Redis 127.0.0.1:$((base + 380))   (workspace beta)
  PostgreSQL $dsn
  metrics of the API processes      http://127.0.0.1:$((base + 80))/metrics,http://127.0.0.1:$((base + 81))/metrics
  metrics of pocket a's gateways    $(printf 'http://127.0.0.1:%s/metrics\n' "${a_ports[@]}" | paste -sd,)
Ctrl-C stops it.
MSG
wait
