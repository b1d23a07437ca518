#!/usr/bin/env bash
# The whole test suite: unit tests; end-to-end tests against real SQLite files and real SMTP
# servers on 127.0.0.1, driving the real outboxd and outbox binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
# Build the executables as well as the tests: the end-to-end tests run the built binaries.
swift build --build-tests
swift test --skip-build "$@"
# The same daemon under a real systemd (PID 1 in a Debian 12 container): readiness, status,
# reload, watchdog restart, clean stop, journald fields, unit hardening.
bash scripts/systemd-test.sh
# The Debian package under the same real systemd: lintian, install over nullmailer, sendmail/mailq, an
# upgrade with 1 000 messages queued and SMTP down, purge keeping a non-empty queue.
bash scripts/deb-test.sh
# A small run of the fault suite (bench/faults.sh): kill -9, server flapping, disk full, two
# daemons, a damaged queue file, fuzzed spool input. The full runs are in bench/RESULTS.md.
bash bench/faults.sh smoke
