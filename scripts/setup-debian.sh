#!/usr/bin/env bash
# Installs the Debian 12 packages outbox needs to build and test: the C libraries' -dev packages
# (libcurl, libsqlite3, libsystemd), pkg-config, and the real peers the tests talk to
# (python3-aiosmtpd, openssl; sqlite3 for tests that tamper with a queue file), and what scripts/systemd-test.sh boots a real systemd with
# (systemd-container for systemd-nspawn, debootstrap for the Debian 12 rootfs). Idempotent: installs
# only what is missing. Run as root.
set -euo pipefail

packages=(
    libcurl4-openssl-dev libsqlite3-dev libsystemd-dev pkg-config ca-certificates
    python3 python3-aiosmtpd openssl sqlite3
    systemd-container debootstrap
    openjdk-17-jdk-headless  # javac/java: the Java producer example's end-to-end test
    gcc libc6-dev  # cc builds scripts/clock-shift.c, the LD_PRELOAD clock shim of ClockStepTests and bench/faults.sh
    # The SMTP listener's tests (issue 12): JavaMail as XNAT uses it (javax.mail + Spring's
    # JavaMailSenderImpl), swaks for the edge cases.
    libmail-java libspring-context-support-java swaks
    prometheus curl          # the metrics tests: promtool check metrics/rules, a real Prometheus scraping outboxd
    dpkg-dev binutils lintian  # scripts/build-deb.sh: dpkg-shlibdeps, strip; the package's lintian check
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done

if ((${#missing[@]})); then
    echo "setup-debian: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
