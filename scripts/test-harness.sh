# scripts/test-harness.sh — the counting and waiting shared by the shell test scripts that run under
# the real systemd (scripts/systemd-test.sh, scripts/deb-test.sh). Sourced; defines:
#   pass TEXT / fail TEXT [DETAIL]   count and print one check ("ok: …" / "FAIL: …")
#   finish                           prints "N passed, M failed" and exits non-zero on any failure
#                                    (or when nothing was checked)
#   wait_for TIMEOUT COMMAND...      polls COMMAND every 0.2 s until it succeeds; fails after TIMEOUT s
passed=0 failed=0
pass() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1${2:+ ($2)}"; failed=$((failed + 1)); }
finish() {
    echo "$passed passed, $failed failed"
    ((failed == 0 && passed > 0))
    exit $?
}
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}
