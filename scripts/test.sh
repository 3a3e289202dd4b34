#!/usr/bin/env bash
# Runs confab's whole test suite, with the race detector, after installing
# what it needs from Debian's packages: a C compiler (cgo SQLite and the race
# detector), PostgreSQL's server binaries (tests start throwaway clusters),
# redis-server (tests start throwaway servers), Chromium (browser tests),
# pebble, Let's Encrypt's test ACME CA (the ACME tests start their own), and
# Node.js with npm, which install Slack's own JavaScript packages pinned in
# testdata/node (tests run Slack's apps against confab).
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
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
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

# Slack's packages (@slack/bolt and others) need Node.js 20 or later.
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "test.sh: node $(node --version) is too old: the npm packages in testdata/node need Node.js 20 or later" >&2
  exit 1
fi
# npm ci installs testdata/node's pinned packages into a cache keyed by the
# hash of package-lock.json: a run reinstalls only when the pins change, and
# an install that fails or is cut leaves nothing half done behind. The tests
# find the packages through CONFAB_NODE_MODULES (internal/nodetest).
node_cache="${CONFAB_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/confab/node}"
node_dir="$node_cache/$(sha256sum testdata/node/package-lock.json | cut -c1-32)"
if [ ! -d "$node_dir/node_modules" ]; then
  echo "test.sh: installing testdata/node's npm packages into $node_dir" >&2
  mkdir -p "$node_cache"
  node_tmp=$(mktemp -d "$node_cache/.install.XXXXXX")
  trap 'rm -rf "$node_tmp"' EXIT
  cp testdata/node/package.json testdata/node/package-lock.json "$node_tmp/"
  npm ci --prefix "$node_tmp" --no-audit --no-fund --loglevel=error >&2
  # Another run may have finished the same install first: keep its copy.
  mv -T "$node_tmp" "$node_dir" 2>/dev/null || true
fi
export CONFAB_NODE_MODULES="$node_dir/node_modules"

export CGO_ENABLED=1
# The SQLite store's search index is FTS5, which mattn/go-sqlite3 compiles
# in only with this build tag; without it the store refuses to open.
tags=(-tags sqlite_fts5)
# With CI set, a test whose server binary is missing fails rather than skips.
export CI="${CI:-true}"
go vet "${tags[@]}" ./...
# -count=1: always run, never answer from the test cache.
if [ $# -gt 0 ]; then
  go test "${tags[@]}" -race -count=1 -timeout 30m ./... "$@"
  exit
fi
go test "${tags[@]}" -race -count=1 -timeout 30m -skip '^TestWebBudgets$' ./...
# The web client's budgets are measured once the rest is done, and without
# the race detector, which slows the server it measures several times
# over: the figures are the product's (printed, and saved in
# cmd/confab/artifacts/budgets.txt).
go test "${tags[@]}" -count=1 -timeout 10m -run '^TestWebBudgets$' -v ./cmd/confab | grep -E '^(=== RUN|--- |ok|FAIL|PASS)|web_budget_test'
# And once without the tag: the store must refuse to open, saying how to
# build, rather than serve without search.
go test -count=1 -run '^TestOpenWithoutFTS5$' ./store/sqlite/
