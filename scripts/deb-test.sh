#!/bin/bash
# Proves the Debian package under a real Debian 12 with systemd (scripts/systemd-container.sh), on a
# root that has nullmailer installed as its MTA: `apt-get install ./outbox_*.deb` replaces it; outboxd
# is enabled and active (READY); a producer's `sendmail -t` reaches the SMTP server on the host's
# 127.0.0.1 and `mailq` shows the queue; an upgrade to a rebuilt package with 1 000 messages queued and
# SMTP down loses none (all delivered once SMTP is up); `apt-get purge` with mail queued keeps the queue;
# purge of an empty queue removes everything. Also: lintian reports no errors. Every wait is bounded.
#
#   scripts/deb-test.sh [--bin-dir DIR]
#
#   --bin-dir DIR  package DIR/outboxd and DIR/outbox (swift build -c release --static-swift-stdlib)
#
# Needs root and scripts/setup-debian.sh's packages. Its rootfs (with nullmailer) is cached apart from
# systemd-test.sh's. Prints "N passed, M failed" last and exits non-zero on any failure.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export OUTBOX_CI_EXTRA_PACKAGES="nullmailer"
export OUTBOX_CI_ROOTFS_TAR=${OUTBOX_CI_CACHE_DIR:-/var/cache/outbox-ci}/bookworm-nullmailer-rootfs.tar
# shellcheck source=scripts/systemd-container.sh
source "$repo/scripts/systemd-container.sh"

bin_dir=""
while (($#)); do
    case $1 in
    --bin-dir) bin_dir=$(cd "$2" && pwd) || exit 64; shift 2 ;;
    *) sed -n '9,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64 ;;
    esac
done

# shellcheck source=scripts/test-harness.sh
source "$repo/scripts/test-harness.sh"
[[ $EUID -eq 0 ]] || { fail "must run as root"; finish; }

# MARK: two packages: the version, and a rebuild of it for the upgrade

if [[ -z $bin_dir ]]; then
    (cd "$repo" && swift build -c release --static-swift-stdlib --product outboxd >/dev/null &&
        swift build -c release --static-swift-stdlib --product outbox >/dev/null) || { fail "release build"; finish; }
    bin_dir=$(cd "$repo" && swift build -c release --static-swift-stdlib --show-bin-path)
fi
work=$(mktemp -d)
smtp_pid=""
teardown() {
    container_stop
    if [[ -n $smtp_pid ]]; then kill "$smtp_pid" 2>/dev/null; wait "$smtp_pid" 2>/dev/null; fi
    rm -rf "$work"
}
trap teardown EXIT
mkdir "$work/debs"
if bash "$repo/scripts/build-deb.sh" --bin-dir "$bin_dir" --output "$work/debs" --lintian >"$work/build.log" 2>&1; then
    pass "build-deb.sh builds the package and lintian reports no errors ($(grep -c '^[WI]: ' "$work/build.log") warnings/infos left)"
else
    fail "build-deb.sh --lintian" "$(tail -n 8 "$work/build.log" | tr '\n' ' ')"; finish
fi
bash "$repo/scripts/build-deb.sh" --bin-dir "$bin_dir" --output "$work/debs" --version-suffix +rebuild1 >>"$work/build.log" 2>&1 ||
    { fail "build-deb.sh --version-suffix"; finish; }
first=$(ls "$work"/debs/outbox_*_*.deb | grep -v rebuild1)
second=$(ls "$work"/debs/outbox_*+rebuild1_*.deb)
grep '^build-deb: built' "$work/build.log"

# MARK: SMTP on the host's loopback (the container shares the network)

start_smtp() {   # start_smtp PORT (0: any; the port lands in $work/port)
    rm -f "$work/port"
    /usr/bin/python3 "$repo/scripts/smtp-server.py" --port "$1" --port-file "$work/port" --out "$work/mail" --quiet &
    smtp_pid=$!
    wait_for 15 test -s "$work/port"
}
stop_smtp() { kill "$smtp_pid" 2>/dev/null; wait "$smtp_pid" 2>/dev/null; smtp_pid=""; }
start_smtp 0 || { fail "SMTP server did not start"; finish; }
port=$(<"$work/port")
received() { find "$work/mail" -name '*.json' 2>/dev/null | wc -l; }
received_at_least() { (($(received) >= $1)); }

# MARK: install over nullmailer

CONTAINER_BIND_RO="$work/debs:/debs" container_start
trap teardown EXIT
container_wait_running >/dev/null
(($? == 2)) && { fail "container boot"; finish; }
cx() { container_exec "$@"; }
if cx dpkg-query -W -f='${Status}' nullmailer 2>/dev/null | grep -q 'install ok installed'; then
    pass "the root starts with nullmailer as its MTA"
else
    fail "nullmailer is not installed in the rootfs"
fi
if cx env DEBIAN_FRONTEND=noninteractive apt-get install -y "/debs/$(basename "$first")" >"$work/install.log" 2>&1; then
    pass "apt-get install ./$(basename "$first") succeeds"
else
    fail "apt-get install" "$(tail -n 8 "$work/install.log" | tr '\n' ' ')"; finish
fi
nullmailer=$(cx dpkg-query -W -f='${Status}' nullmailer 2>/dev/null)
[[ $nullmailer != *"install ok installed"* ]] && pass "nullmailer was replaced (now: ${nullmailer:-gone})" ||
    fail "nullmailer still installed" "$nullmailer"
[[ $(cx readlink -f /usr/sbin/sendmail) == /usr/bin/outbox ]] && pass "/usr/sbin/sendmail is outbox" ||
    fail "/usr/sbin/sendmail" "$(cx ls -l /usr/sbin/sendmail)"
show() { cx systemctl show -p "$1" --value outboxd.service; }
if [[ $(cx systemctl is-enabled outboxd.service) == enabled && $(show ActiveState)/$(show SubState) == active/running && -n $(show StatusText) ]]; then
    pass "outboxd is enabled and active after READY (STATUS: '$(show StatusText)')"
else
    fail "outboxd after install" "$(cx systemctl is-enabled outboxd.service) $(show ActiveState)/$(show SubState) '$(show StatusText)'"
fi
[[ $(cx outbox --version) == $(cx outboxd --version) && -n $(cx outbox --version) ]] && pass "outbox --version = outboxd --version = $(cx outbox --version)" ||
    fail "versions differ"
cx man -w outbox.yaml >/dev/null 2>&1 || [[ -f $CONTAINER_ROOT/usr/share/man/man5/outbox.yaml.5.gz ]] && pass "man pages installed" || fail "man pages"

# MARK: configure, sendmail -t from a producer, mailq

cx bash -c "cat >/etc/outbox/outbox.yaml" <<EOF
smtp:
  host: 127.0.0.1
  port: $port
  from: xnat@outbox-ci.test
  ehlo_name: outbox-ci.test
delivery:
  first_retry: 1h
EOF
cx systemctl reload outboxd.service
cx useradd -M -G outbox producer
if cx setpriv --reuid=producer --regid=producer --init-groups bash -c \
    "printf 'From: xnat@outbox-ci.test\nTo: alice@example.org\nSubject: via sendmail -t\n\nbody\n' | /usr/sbin/sendmail -t"; then
    if wait_for 30 received_at_least 1; then
        pass "a producer's sendmail -t is delivered to the host's SMTP server"
    else
        fail "sendmail -t delivery" "$(cx journalctl -u outboxd -o cat --no-pager | tail -n 5 | tr '\n' ' ')"
    fi
else
    fail "sendmail -t as a producer"
fi
mailq_empty() { [[ $(cx mailq) == "Mail queue is empty" ]]; }
wait_for 10 mailq_empty && pass "mailq: Mail queue is empty" || fail "mailq" "$(cx mailq | head -3)"

# MARK: upgrade with 1 000 messages waiting and SMTP down

stop_smtp
cx bash -c 'for i in $(seq 1 1000); do printf "From: xnat@outbox-ci.test\nTo: bob@example.org\nSubject: bulk %s\n\nbody\n" $i >/var/spool/outbox/tmp/bulk$i.eml; mv /var/spool/outbox/tmp/bulk$i.eml /var/spool/outbox/new/bulk$i.eml; done'
waiting() { cx outbox stats --json | python3 -c 'import json,sys; c=json.load(sys.stdin)["counts"]; print(c.get("queued",0)+c.get("deferred",0))'; }
all_waiting() { [[ $(waiting) == 1000 ]]; }
if wait_for 120 all_waiting; then pass "1000 messages queued with SMTP down"; else fail "1000 waiting" "$(waiting)"; fi
mailq_tail=$(cx mailq | tail -n 1)
[[ $mailq_tail == "-- "*" Kbytes in 1000 Requests." ]] && pass "mailq lists them ('$mailq_tail')" || fail "mailq tail" "$mailq_tail"
pid_before=$(show MainPID)
if cx env DEBIAN_FRONTEND=noninteractive apt-get install -y "/debs/$(basename "$second")" >"$work/upgrade.log" 2>&1; then
    pass "upgrade to $(basename "$second")"
else
    fail "upgrade" "$(tail -n 8 "$work/upgrade.log" | tr '\n' ' ')"
fi
[[ $(show ActiveState) == active && $(show MainPID) != "$pid_before" ]] && pass "outboxd was restarted by the upgrade" ||
    fail "restart on upgrade" "$(show ActiveState) pid $pid_before → $(show MainPID)"
[[ $(waiting) == 1000 ]] && pass "the 1000 messages are still queued after the upgrade" || fail "after upgrade" "$(waiting) waiting"
start_smtp "$port" || fail "SMTP server restart"
cx outbox flush >/dev/null
if wait_for 240 received_at_least 1001; then
    sleep 2
    pass "all 1000 delivered once SMTP is up ($(received) received in all, 1001 expected)"
    (($(received) == 1001)) || fail "duplicates" "$(received) received"
else
    fail "delivery after the upgrade" "$(received) received, $(waiting) waiting"
fi

# MARK: purge with mail queued keeps it; purge of an empty queue removes everything

stop_smtp
cx bash -c 'printf "From: xnat@outbox-ci.test\nTo: carol@example.org\nSubject: kept\n\nbody\n" | /usr/sbin/sendmail -t'
one_waiting() { [[ $(waiting) == 1 ]]; }
wait_for 30 one_waiting || fail "one message waiting before purge" "$(waiting)"
cx env DEBIAN_FRONTEND=noninteractive apt-get purge -y outbox >"$work/purge1.log" 2>&1 || fail "apt-get purge (mail queued)"
if [[ -f $CONTAINER_ROOT/var/lib/outbox/queue.sqlite3 && ! -e $CONTAINER_ROOT/usr/sbin/outboxd ]] &&
    grep -q 'keeping /var/lib/outbox' "$work/purge1.log"; then
    pass "purge with mail queued removes the program and keeps the queue, and says so"
else
    fail "purge with mail queued" "$(tail -n 4 "$work/purge1.log" | tr '\n' ' ')"
fi
cx env DEBIAN_FRONTEND=noninteractive apt-get install -y "/debs/$(basename "$second")" >"$work/reinstall.log" 2>&1 ||
    fail "reinstall over the kept queue"
printf 'smtp:\n  host: 127.0.0.1\n  port: %s\n' "$port" | cx bash -c "cat >/etc/outbox/outbox.yaml"
cx systemctl restart outboxd.service
[[ $(waiting) == 1 ]] && pass "a reinstall finds the kept message" || fail "kept message after reinstall" "$(waiting)"
start_smtp "$port"
cx outbox flush >/dev/null
wait_for 30 received_at_least 1002 && pass "and delivers it" || fail "kept message delivered" "$(received)"
cx env DEBIAN_FRONTEND=noninteractive apt-get purge -y outbox >"$work/purge2.log" 2>&1 || fail "apt-get purge (empty queue)"
left=$(cd "$CONTAINER_ROOT" && ls -d var/lib/outbox var/spool/outbox etc/outbox usr/sbin/outboxd usr/bin/outbox \
    usr/lib/systemd/system/outboxd.service usr/sbin/sendmail 2>/dev/null | tr '\n' ' ')
[[ -z $left ]] && pass "purge of an empty queue removes everything" || fail "left after purge" "$left"

echo "deb-test: $SECONDS s"
finish
