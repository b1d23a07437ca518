#!/usr/bin/env bash
# Writes the man pages into OUTDIR: outbox.1 and outboxd.8 generated from the binaries in BIN_DIR by
# swift-argument-parser's generate-manual tool (the one its GenerateManual plugin runs; built here
# with the same flags as the release binaries, so nothing else is rebuilt), and the hand-written
# outbox.yaml.5. Dated by the last commit, so a rebuild gives the same pages.
#
#   scripts/man-pages.sh BIN_DIR OUTDIR
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $# -eq 2 ]] || { sed -n '7p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2; exit 64; }
bin_dir=$1 out=$2
mkdir -p "$out"
(cd "$repo" && swift build -c release --static-swift-stdlib --product generate-manual >/dev/null)
tool=$(cd "$repo" && swift build -c release --static-swift-stdlib --show-bin-path)/generate-manual
date=$(date -u -d "@$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)" +%Y-%m-%d)
"$tool" "$bin_dir/outbox" --section 1 --date "$date" --output-directory "$out"
"$tool" "$bin_dir/outboxd" --section 8 --date "$date" --output-directory "$out"
# The generator copies blank lines of the help text into the page, where mdoc wants a paragraph macro.
sed -i 's/^$/.Pp/' "$out/outbox.1" "$out/outboxd.8"
cp "$repo/packaging/deb/outbox.yaml.5" "$out/outbox.yaml.5"
