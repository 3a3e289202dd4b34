#!/usr/bin/env bash
# Runs confab's whole test suite, with the race detector, after installing
# what it needs. Safe to run on a fresh Debian machine with Go; CI runs it
# through .ci/run. Anything the suite needs that cannot be had fails the run:
# nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# cgo (the SQLite driver) and the race detector need a C compiler.
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test.sh: missing ${need_apt[*]}; install them (apt-get install ${need_apt[*]}) or run as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

export CGO_ENABLED=1
go vet ./...
# -count=1: always run, never answer from the test cache.
go test -race -count=1 -timeout 30m ./... "$@"
