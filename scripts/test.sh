#!/usr/bin/env bash
# Runs confab's whole test suite, with the race detector, after installing
# what it needs from Debian's packages: a C compiler (cgo SQLite and the race
# detector), PostgreSQL's server binaries (tests start throwaway clusters),
# redis-server (tests start throwaway servers), Chromium (browser tests) and
# pebble, Let's Encrypt's test ACME CA (the ACME tests start their own).
# Tests start and stop every server themselves, on 127.0.0.1. Safe to run on
# a fresh Debian machine with Go; CI runs it through .ci/run. Anything the
# suite needs that cannot be had fails the run: with CI set, tests that
# would need a missing binary fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

have_postgres() {
  command -v postgres >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1
}

need_apt=()
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
have_postgres || need_apt+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
{ command -v pebble && command -v pebble-challtestsrv; } >/dev/null 2>&1 || need_apt+=(pebble)
# Reactions are emoji: without a colour emoji font they render as empty boxes in screenshots.
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need_apt+=(fonts-noto-color-emoji)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test.sh: missing ${need_apt[*]}; install them (apt-get install ${need_apt[*]}) or run as root" >&2
    exit 1
  fi
  echo "test.sh: installing ${need_apt[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts the services it installs; the tests run their own.
  if command -v redis-cli >/dev/null 2>&1; then redis-cli shutdown nosave >/dev/null 2>&1 || true; fi
fi

export CGO_ENABLED=1
# With CI set, a test whose server binary is missing fails rather than skips.
export CI="${CI:-true}"
go vet ./...
# -count=1: always run, never answer from the test cache.
go test -race -count=1 -timeout 30m ./... "$@"
