#!/usr/bin/env bash
# Compiles every criterion benchmark of the workspace (the top-level
# benches/ and the crates' own) in release mode and smoke-runs each one in
# quick mode (CREDENCE_BENCH_QUICK=1: small sizes, ~0.25 s per benchmark).
# For CI: it proves the benches build and run; its figures are not the ones
# BENCHMARKS.md quotes.
#
# Usage: scripts/bench-quick.sh [extra cargo bench args, e.g. --all-features]
#
# cqrs-es's MemStore prints a line per load and per commit to stdout; those
# lines are filtered out here.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
cargo bench --workspace --benches --no-run "$@"
built=$(date +%s)
CREDENCE_BENCH_QUICK=1 cargo bench --workspace --benches "$@" \
    | grep -v -E '^(loading|storing): '
end=$(date +%s)
echo "bench-quick: build $((built - start)) s, smoke run $((end - built)) s"
