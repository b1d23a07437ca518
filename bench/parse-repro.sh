#!/usr/bin/env bash
# The issue 14 parser findings, before and after: compiles OutboxCore's sources at REV (default: the
# commit before the fix) and at the work tree with bench/parse-repro/main.swift, optimized, then runs
# each input under /usr/bin/time -v and prints wall time and peak RSS.
# Usage: bench/parse-repro.sh [REV] [TIMEOUT_S]   (BENCH_DIR: scratch, default /tmp/outbox-parse-repro)
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-74946d9}
limit=${2:-120}
work=${BENCH_DIR:-/tmp/outbox-parse-repro}
rm -rf "$work"; mkdir -p "$work/before" "$work/after"
git archive "$rev" Sources/OutboxCore | tar -x -C "$work/before"
swiftc -O -module-name OutboxCore -o "$work/before/repro" $(find "$work/before/Sources/OutboxCore" -name '*.swift') bench/parse-repro/main.swift
swiftc -O -module-name OutboxCore -o "$work/after/repro" $(find Sources/OutboxCore -name '*.swift') bench/parse-repro/main.swift
for input in "deep-mime-send 3000" "deep-mime-send 10000" "deep-mime 3000" "json-keys 160000" "eml-fields 1000000" "short-lines 4000000"; do
    for side in before after; do
        out=$( { /usr/bin/time -v timeout "$limit" "$work/$side/repro" $input; } 2>"$work/time.txt" ) || out="(killed after ${limit} s)"
        rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f MB", $2/1024}' "$work/time.txt")
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
        echo "$side: $out wall=$wall peak_rss=$rss"
    done
done
