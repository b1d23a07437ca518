#!/usr/bin/env bash
# bench/faults.sh SCENARIO [ARGS] — the fault suite (issue 8). Each scenario runs outboxd against a
# counting SMTP server on 127.0.0.1 (scripts/smtp-server.py, one JSON file per accepted message),
# prints one summary line and exits non-zero when an invariant is violated.
#
#   kill9 [N] [KILLS]     drain N messages while SIGKILLing outboxd at random instants KILLS times,
#                         restarting it each time: lost = 0; duplicates counted (only a kill between
#                         the server's final 250 and our commit can cause one). Default 2000 50.
#                         FAULTS_MAIL_DELAY=0.05 slows the server's MAIL reply so KILLS fit in the drain.
#                         Messages held by poison containment (in flight at two kills in a row) are
#                         counted and released at the end.
#   flapping [N]          the SMTP server (20 ms per message) stops and starts every 2 s during a
#                         drain: all delivered, none failed, temporary attempts and retries spaced by
#                         the backoff (first_retry 1s, max_retry_delay 3s) in the history. Default 1000.
#   disk-full [N]         the database on a small tmpfs fills up while producers keep writing:
#                         intake pauses with a log line, spool files stay in new/ (none quarantined),
#                         intake resumes ("Intake resumed" logged) when the tmpfs grows; STATUS (a
#                         stand-in notify socket) says "intake paused: …" meanwhile. Default 3000.
#   two-daemons [N]       two outboxd on one database and spool drain together: duplicates = 0.
#   corrupt-db            a damaged and a non-SQLite database: outboxd and `outbox list` refuse with
#                         one line each and a sysexits code, and the file is left byte-identical.
#   fuzz [INPUTS] [CFG] [FILES] [STRUCTURED]  mutated .json/.eml spool input and YAML through the
#                         parsers in-process (0 crashes, every rejection one line); STRUCTURED
#                         structure-aware hostile inputs (deep MIME, many keys, long and many headers,
#                         huge recipient lists, up to spool.max_message_size, FUZZ_MAX_SIZE) each
#                         within 1 s of CPU and 64 MB (issue 14); then FILES mutated files and the
#                         special entries (a sparse 2 GB file, a FIFO, directories, names with 0xFF,
#                         a newline, 250 bytes) into a running daemon's spool: each queued or
#                         quarantined with a reason, failed/ small, new/ empty but for the one
#                         non-empty directory (reported once). Default 1000000 2000 200 20000.
#   smtp-kill9 [N] [KILLS] a client submits N messages over SMTP (one connection each, resubmitting
#                         after a refused or cut connection, as a real client does) while outboxd is
#                         SIGKILLed KILLS times and restarted: every message that got its 250 is
#                         delivered (lost = 0); a message is duplicated only when a kill fell between
#                         its commit and the client reading the 250 (at most 1 per kill for one
#                         client), or in delivery (at most 1 per worker per kill). Default 5000 20.
#   smtp-fuzz [SESSIONS]  random and pipelined SMTP command streams, long lines, bare CR/LF and
#                         binary DATA through the listener's conversation in-process (outbox-fuzz
#                         --smtp): 0 crashes, every reply well-formed. Default 100000.
#   careless [N]          producers ignoring docs/spool.md write straight into new/: N small direct
#                         writes, slow writers pausing 1.5 s with the file open, and cp of an 8 MB file:
#                         every message delivered once and whole (its last line arrives), none
#                         quarantined. Default 200.
#   long-send             one message whose send outlives the old 600 s lease (the wall clock is
#                         moved 11 minutes ahead while the relay holds its reply), with idle workers
#                         woken by other mail: every message delivered exactly once.
#   clock-steps [N]       a drain while the wall clock steps 6 days forward and back every 0.5 s
#                         (scripts/clock-shift.c via LD_PRELOAD), a quarter of the messages deferred
#                         once by the relay: lost = 0, duplicated = 0, failed = 0. Default 400.
#   db-removed [N]        the database directory removed (rm -rf) while producers write: outboxd
#                         exits 75 and writes unsent mail back to the spool; restarted on a fresh
#                         file, everything is delivered: lost = 0. Default 600.
#   kept [N]              (root) N spool files queued while new/ is a read-only bind mount, so none can
#                         be removed: each reported once and kept (spool_kept), delivered once; the
#                         sent mail purged and outboxd restarted: none queued again; the mount
#                         lifted: every file removed at the next rescan and its row dropped. Default 200.
#   smoke                 a small run of every scenario (for CI, about five minutes).
#
# BENCH_CONFIG=release builds and runs the release binaries (default debug). FAULTS_DIR is the
# scratch directory (default /tmp/outbox-faults). Only root can run disk-full (it mounts a tmpfs) and
# kept (a bind mount).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
scenario=${1:-kill9}
shift || true
work=${FAULTS_DIR:-/tmp/outbox-faults}
source bench/lib.sh
source bench/outboxd.sh
# The shipped default (delivery.workers: 4); only the drain benchmark runs 16.
export OUTBOXD_WORKERS=${OUTBOXD_WORKERS:-4}
config=${BENCH_CONFIG:-debug}

if [[ $scenario == smoke ]]; then
    export FAULTS_MAIL_DELAY=${FAULTS_MAIL_DELAY:-0.02}  # so that kill9's 10 kills fall inside the drain
    status=0
    export FUZZ_MAX_SIZE=${FUZZ_MAX_SIZE:-4194304}  # CI's debug build: structured inputs up to 4 MB
    for run in "kill9 1000 10" "flapping 400" "disk-full 600" "two-daemons 300" "corrupt-db" "fuzz 50000 300 40 1000" \
        "smtp-kill9 500 5" "smtp-fuzz 20000" "careless 60" "long-send" "clock-steps 200" "db-removed 300" "kept 50"; do
        bash "$0" $run || status=1
    done
    exit $status
fi

build() {
    # A release build as install.sh makes it (the same build directory, so no relinking back and forth).
    local flags=(-c "$config")
    [[ $config == release ]] && flags+=(--static-swift-stdlib)
    swift build "${flags[@]}" --product outboxd >/dev/null
    swift build "${flags[@]}" --product outbox >/dev/null
    bin=$(swift build "${flags[@]}" --show-bin-path)
}

server_pid=
second_pid=
notify_pid=
mounted=
cleanup() {
    outboxd_stop
    [[ -n $second_pid ]] && kill -TERM "$second_pid" 2>/dev/null
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null
    [[ -n $notify_pid ]] && kill "$notify_pid" 2>/dev/null
    wait 2>/dev/null || true
    [[ -n $mounted ]] && umount "$mounted" 2>/dev/null
    return 0
}
trap cleanup EXIT

# server_start [PORT [OPTION...]]: the counting server writing to $work/received (numbering continues).
server_start() {
    rm -f "$work/port"
    /usr/bin/python3 scripts/smtp-server.py --quiet --port "${1:-0}" --port-file "$work/port" --out "$work/received" "${@:2}" &
    server_pid=$!
    wait_until 20 "[[ -s $work/port ]]"
    sink_port=$(cat "$work/port")
}
server_stop() { [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=; }

# fill DIR N: N spool files with Message-ID <i@faults>, queued while SMTP is disabled.
fill() {
    local dir=$1 n=$2
    mkdir -p "$dir"
    outboxd_configure "$dir" "$sink_port" false
    outboxd_start "$dir"
    wait_until 20 "[[ -d $dir/spool/new ]]"
    produce "$dir/spool" 0 "$n"
    wait_until 600 "[[ \$(outboxd_count $dir queued) -ge $n ]]"
    outboxd_stop
}

# produce SPOOL FROM TO: spool files FROM..TO-1 the producer way (tmp/, then rename into new/).
produce() {
    /usr/bin/python3 - "$@" <<'PY'
import os, sys
spool, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(first, last):
    name = "f.%d.eml" % i
    body = "From: s@faults.test\nTo: r@example.com\nSubject: fault %d\nMessage-ID: <%d@faults>\n\n%s" % (i, i, ("x" * 75 + "\n") * 20)
    with open(os.path.join(spool, "tmp", name), "w") as f:
        f.write(body)
    os.rename(os.path.join(spool, "tmp", name), os.path.join(spool, "new", name))
PY
}

# count_received N: prints "lost=… duplicated=…" from the server's files; fails when any was lost.
count_received() {
    /usr/bin/python3 - "$work/received" "$1" <<'PY'
import collections, json, os, re, sys
folder, n = sys.argv[1], int(sys.argv[2])
seen = collections.Counter()
for name in os.listdir(folder) if os.path.isdir(folder) else []:
    if name.endswith(".json"):
        m = re.search(r"Message-ID: <(\d+)@faults>", json.load(open(os.path.join(folder, name)))["data"])
        if m:
            seen[int(m.group(1))] += 1
lost = [i for i in range(n) if seen[i] == 0]
duplicated = sum(c - 1 for c in seen.values() if c > 1)
print("lost=%d duplicated=%d" % (len(lost), duplicated))
sys.exit(1 if lost else 0)
PY
}

# worst_kill: the most duplicates one kill caused. A duplicate's first copy is charged to the kill
# that ended the run it arrived in (the server's files are numbered in arrival order, and
# $work/kill-boundaries holds the file count after each kill).
worst_kill() {
    /usr/bin/python3 - "$work/received" "$work/kill-boundaries" <<'PY'
import bisect, collections, json, os, re, sys
folder, boundaries = sys.argv[1], [int(x) for x in open(sys.argv[2]).read().split()]
first, copies = {}, collections.Counter()
for name in sorted(n for n in os.listdir(folder) if n.endswith(".json")):
    m = re.search(r"Message-ID: <(\d+)@faults>", json.load(open(os.path.join(folder, name)))["data"])
    if m:
        i = int(m.group(1))
        copies[i] += 1
        first.setdefault(i, int(name.split(".")[0]))
per_kill = collections.Counter()
for i, c in copies.items():
    if c > 1:
        per_kill[bisect.bisect_left(boundaries, first[i])] += c - 1
worst = max(per_kill.values(), default=0)
print("kills_causing_duplicates=%d max_duplicates_one_kill=%d" % (len(per_kill), worst))
PY
}

db() { sqlite3 "file:$1/queue.sqlite3?mode=ro" "$2"; }

scenario_kill9() {
    local n=${1:-2000} kills=${2:-50} dir=$work/outboxd
    # FAULTS_MAIL_DELAY (seconds before each MAIL FROM reply) slows the drain so that KILLS kills
    # fit in it, without widening the window between the server's acceptance and our commit.
    server_start 0 --mail-delay "${FAULTS_MAIL_DELAY:-0}"
    fill "$dir" "$n"
    outboxd_configure "$dir" "$sink_port" true
    local done_kills=0
    while (( done_kills < kills )); do
        outboxd_start "$dir"
        sleep "0.$(( RANDOM % 900 + 50 ))"
        kill -KILL "$outboxd_pid" 2>/dev/null || true
        wait "$outboxd_pid" 2>/dev/null || true
        outboxd_pid=
        done_kills=$((done_kills + 1))
        sleep 0.05  # the server finishes writing what it took before the kill
        find "$work/received" -name '*.json' | wc -l >> "$work/kill-boundaries"
        (( $(outboxd_count "$dir" sent) >= n )) && break
    done
    outboxd_start "$dir"
    # Poison containment (issue 14) holds a message that was in flight at two kills in a row; here
    # the kills are the fault, not the message: count them, then release them as an admin would.
    sleep 2
    local poison
    poison=$(db "$dir" "SELECT count(*) FROM message WHERE state = 'held' AND last_error LIKE 'held after 2 unclean stops%'")
    (( poison > 0 )) && "$bin/outbox" release --all --config "$dir/outbox.yaml" >/dev/null
    wait_until 1200 "[[ \$(outboxd_count $dir sent) -ge $n ]]" || echo "faults: the queue did not drain" >&2
    sleep 1
    outboxd_stop
    local counts status=0 worst
    counts=$(count_received "$n") || status=1
    local dup=${counts#*duplicated=}
    worst=$(worst_kill)
    echo "kill9: kills=$done_kills messages=$n mail_delay=${FAULTS_MAIL_DELAY:-0} $counts duplicates_per_kill=$(awk -v d="$dup" -v k="$done_kills" 'BEGIN { printf "%.2f", k ? d / k : 0 }') $worst held_as_poison_then_released=$poison"
    return $status
}

scenario_flapping() {
    local n=${1:-1000} dir=$work/outboxd
    server_start
    local port=$sink_port
    fill "$dir" "$n"
    server_stop
    server_start "$port" --data-delay 0.02  # each message takes a while: the flaps catch sends in flight
    outboxd_configure "$dir" "$port" true "first_retry: 1s" "max_retry_delay: 3s"
    outboxd_start "$dir"
    local flaps=0 deadline=$(( $(date +%s) + 600 ))
    while (( $(outboxd_count "$dir" sent) + $(outboxd_count "$dir" failed) < n && $(date +%s) < deadline )); do
        sleep 2
        server_stop
        flaps=$((flaps + 1))
        sleep 2
        server_start "$port" --data-delay 0.02
    done
    wait_until 120 "[[ \$(outboxd_count $dir sent) -ge $n ]]" || true
    outboxd_stop
    local sent failed temporary retried min_gap
    sent=$(outboxd_count "$dir" sent)
    failed=$(outboxd_count "$dir" failed)
    temporary=$(db "$dir" "SELECT count(*) FROM attempt WHERE outcome = 'temporary'")
    retried=$(db "$dir" "SELECT count(DISTINCT message_id) FROM attempt WHERE outcome = 'temporary'")
    # The smallest gap between a temporary failure's end and the same message's next attempt.
    min_gap=$(db "$dir" "SELECT coalesce(min(b.started_at - (a.started_at + a.duration_ms)), -1) FROM attempt a
        JOIN attempt b ON b.message_id = a.message_id AND b.id = (SELECT min(id) FROM attempt WHERE message_id = a.message_id AND id > a.id)
        WHERE a.outcome = 'temporary'")
    local counts status=0
    counts=$(count_received "$n") || status=1
    echo "flapping: messages=$n flaps=$flaps sent=$sent failed=$failed temporary_attempts=$temporary messages_retried=$retried min_retry_gap_ms=$min_gap $counts"
    (( sent == n && failed == 0 && temporary > 0 && min_gap >= 900 )) || status=1
    return $status
}

scenario_disk_full() {
    local n=${1:-3000} dir=$work/outboxd
    if (( $(id -u) != 0 )); then echo "disk-full: not run (mounting a tmpfs needs root)"; return 0; fi
    server_start
    mkdir -p "$dir/db"
    mount -t tmpfs -o size=1m tmpfs "$dir/db"
    mounted=$dir/db
    outboxd_configure "$dir" "$sink_port" false
    sed -i "s|database: .*|database: $dir/db/queue.sqlite3|" "$dir/outbox.yaml"
    sed -i "s|level: warning|level: notice|" "$dir/outbox.yaml"
    # A stand-in for systemd's notify socket records every sd_notify datagram (READY, STATUS, …).
    /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", 0) as f:
    while True:
        f.write(s.recv(65536).replace(b"\n", b" ") + b"\n")
' "$work/notify.sock" "$work/notify.log" &
    notify_pid=$!
    wait_until 10 "[[ -S $work/notify.sock ]]"
    NOTIFY_SOCKET=$work/notify.sock outboxd_start "$dir"
    wait_until 20 "[[ -d $dir/spool/new ]]"
    produce "$dir/spool" 0 "$n" &
    local producer=$!
    local paused=no
    wait_until 120 "grep -q 'Intake paused' $dir/outboxd.log" && paused=yes
    wait "$producer"
    sleep 1
    local alive=yes
    kill -0 "$outboxd_pid" 2>/dev/null || alive=no
    local waiting quarantined queued_full
    waiting=$(find "$dir/spool/new" -type f | wc -l)
    quarantined=$(find "$dir/spool/failed" -type f | wc -l)
    queued_full=$(sqlite3 "file:$dir/db/queue.sqlite3?mode=ro" "SELECT count(*) FROM message" 2>/dev/null || echo "?")
    local line status_line
    line=$(grep -m1 'Intake paused' "$dir/outboxd.log" | cut -c1-300 || true)
    wait_until 30 "grep -q 'intake paused' $work/notify.log" || true
    status_line=$(grep -o -m1 'STATUS=[^ ]* [^=]*intake paused: [^=]*' "$work/notify.log" | cut -c1-300 || true)
    # Space returns.
    mount -o remount,size=256m "$dir/db"
    local resumed=no started
    started=$(now)
    wait_until 300 "grep -q 'Intake resumed' $dir/outboxd.log" && resumed=yes
    local resume_s
    resume_s=$(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    wait_until 300 "[[ \$(find $dir/spool/new -type f | wc -l) -eq 0 ]]" || resumed=no
    local queued status_cleared=no
    queued=$(sqlite3 "file:$dir/db/queue.sqlite3?mode=ro" "SELECT count(*) FROM message")
    wait_until 10 "tail -n 1 $work/notify.log | grep -q '^STATUS=' && ! tail -n 1 $work/notify.log | grep -q 'intake paused'" && status_cleared=yes
    kill -0 "$outboxd_pid" 2>/dev/null || alive=no
    outboxd_stop
    umount "$dir/db"; mounted=
    quarantined=$((quarantined + $(find "$dir/spool/failed" -type f | wc -l)))
    echo "disk-full: files=$n paused=$paused queued_when_full=$queued_full waiting_in_new=$waiting quarantined=$quarantined resumed=$resumed resumed_after_s=$resume_s status_cleared=$status_cleared queued=$queued daemon_alive=$alive"
    echo "disk-full: log: $line"
    echo "disk-full: status: ${status_line:-(no STATUS with \"intake paused\")}"
    [[ $paused == yes && -n $status_line && $status_cleared == yes && $resumed == yes && $alive == yes && $quarantined == 0 && $queued == "$n" && $waiting -gt 0 ]]
}

scenario_two_daemons() {
    local n=${1:-1000} dir=$work/outboxd
    server_start
    fill "$dir" "$n"
    outboxd_configure "$dir" "$sink_port" true
    sed -i "s|level: warning|level: info|" "$dir/outbox.yaml"  # "Message delivered" lines: each daemon's share
    outboxd_start "$dir"
    local first=$outboxd_pid
    "$bin/outboxd" --config "$dir/outbox.yaml" >> "$dir/outboxd2.log" 2>&1 &
    second_pid=$!
    wait_until 600 "[[ \$(outboxd_count $dir sent) -ge $n ]]" || echo "faults: the queue did not drain" >&2
    sleep 1
    local alive=0
    kill -0 "$first" 2>/dev/null && alive=$((alive + 1))
    kill -0 "$second_pid" 2>/dev/null && alive=$((alive + 1))
    kill -TERM "$second_pid"; wait "$second_pid" 2>/dev/null || true; second_pid=
    outboxd_stop
    local by_first by_second counts status=0
    by_first=$(grep -c 'Message delivered' "$dir/outboxd.log" || true)
    by_second=$(grep -c 'Message delivered' "$dir/outboxd2.log" || true)
    counts=$(count_received "$n") || status=1
    echo "two-daemons: messages=$n delivered_by_first=$by_first delivered_by_second=$by_second daemons_alive_at_end=$alive $counts"
    [[ $status == 0 && ${counts#*duplicated=} == 0 ]]
}

# refuse LABEL DIR: outboxd and `outbox list` on DIR's damaged database must fail with one line and
# leave the file as it was.
refuse() {
    local label=$1 dir=$2 file=$2/queue.sqlite3 before after daemon_rc=0 cli_rc=0 status=0
    before=$(sha256sum < "$file")
    timeout 60 "$bin/outboxd" --config "$dir/outbox.yaml" > "$dir/daemon.out" 2> "$dir/daemon.err" || daemon_rc=$?
    timeout 60 "$bin/outbox" list --config "$dir/outbox.yaml" > "$dir/cli.out" 2> "$dir/cli.err" || cli_rc=$?
    after=$(sha256sum < "$file")
    local unchanged=yes
    [[ $before == "$after" ]] || { unchanged=no; status=1; }
    # The daemon's message is its last stderr line (the log line before it says the same).
    local daemon_line cli_lines
    daemon_line=$(grep -v '^$' "$dir/daemon.err" | tail -n 1)
    cli_lines=$(grep -cv '^$' "$dir/cli.err" || true)
    (( daemon_rc != 0 && daemon_rc != 124 && cli_rc != 0 && cli_rc != 124 && cli_lines == 1 )) || status=1
    echo "corrupt-db ($label): outboxd exit=$daemon_rc cli exit=$cli_rc file_unchanged=$unchanged"
    echo "  outboxd: $daemon_line"
    echo "  outbox:  $(head -c 300 "$dir/cli.err")"
    return $status
}

scenario_corrupt_db() {
    local n=${1:-2000} dir=$work/outboxd status=0
    server_start
    fill "$dir" "$n"
    rm -f "$dir/queue.sqlite3-wal" "$dir/queue.sqlite3-shm"
    local pages
    pages=$(( $(stat -c %s "$dir/queue.sqlite3") / 4096 ))
    dd if=/dev/urandom of="$dir/queue.sqlite3" bs=4096 seek=$((pages / 2)) count=4 conv=notrunc status=none
    refuse "garbage pages $((pages / 2))..$((pages / 2 + 3)) of $pages" "$dir" || status=1
    head -c 200000 /dev/urandom > "$dir/queue.sqlite3"
    rm -f "$dir/queue.sqlite3-wal" "$dir/queue.sqlite3-shm"
    refuse "not an SQLite file" "$dir" || status=1
    return $status
}

scenario_fuzz() {
    local inputs=${1:-1000000} config_inputs=${2:-2000} files=${3:-200} structured=${4:-20000} status=0
    swift build -c "$config" $([[ $config == release ]] && echo --static-swift-stdlib) --product outbox-fuzz >/dev/null
    build
    mkdir -p "$work"
    "$bin/outbox-fuzz" "$inputs" "$config_inputs" "${FUZZ_SEED:-1}" "$work" || status=1
    "$bin/outbox-fuzz" --structured "$structured" "${FUZZ_MAX_SIZE:-26214400}" "${FUZZ_SEED:-1}" || status=1
    # End to end: mutated files into a running daemon's spool; each must be queued or quarantined
    # with a one-line .error, none left in new/, and the daemon alive.
    local dir=$work/outboxd
    server_start
    mkdir -p "$dir"
    outboxd_configure "$dir" "$sink_port" false
    outboxd_start "$dir"
    wait_until 20 "[[ -d $dir/spool/new ]]"
    "$bin/outbox-fuzz" --files "$files" "$dir/spool" "${FUZZ_SEED:-1}"
    # Special entries (issue 14), each handed over the producer way where a rename can do it.
    local new=$dir/spool/new tmp=$dir/spool/tmp special=0
    truncate -s 2G "$tmp/sparse.eml" && mv "$tmp/sparse.eml" "$new/"; special=$((special + 1))
    mkfifo "$new/fifo.eml"; special=$((special + 1))
    mkdir "$new/empty.eml"; special=$((special + 1))
    mkdir -p "$new/full.eml/sub"
    printf 'From: a@example.org\nTo: b@example.org\n\nx\n' > "$tmp/s1" && mv "$tmp/s1" "$new/$(printf 'ff\377.eml')"; special=$((special + 1))
    printf 'From: a@example.org\nTo: b@example.org\n\nx\n' > "$tmp/s2" && mv "$tmp/s2" "$new/$(printf 'nl\n\033[31m.eml')"; special=$((special + 1))
    printf 'not a message\n' > "$tmp/s3" && mv "$tmp/s3" "$new/$(printf 'n%.0s' {1..246}).eml"; special=$((special + 1))
    wait_until 120 "[[ \$(find $dir/spool/new -mindepth 1 -maxdepth 1 ! -name full.eml | wc -l) -eq 0 ]]" || true
    sleep 1
    local left queued failed errors bad_errors alive=yes
    left=$(find "$dir/spool/new" -mindepth 1 -maxdepth 1 ! -name full.eml | wc -l)
    queued=$(outboxd_count "$dir" queued)
    failed=$(find "$dir/spool/failed" -type f ! -name '*.error' | wc -l)
    errors=$(find "$dir/spool/failed" -type f -name '*.error' | wc -l)
    bad_errors=0
    for e in "$dir"/spool/failed/*.error; do
        [[ -e $e ]] || continue
        [[ $(wc -l < "$e") -le 1 && -s $e ]] || bad_errors=$((bad_errors + 1))
    done
    kill -0 "$outboxd_pid" 2>/dev/null || alive=no
    local failed_kb reports
    failed_kb=$(du -sk "$dir/spool/failed" | cut -f1)
    sleep 2  # a rescan or two: the non-empty directory must not be reported again
    reports=$(grep -c "Cannot move a rejected spool file" "$dir/outboxd.log" || true)
    outboxd_stop
    # The mutated files plus the special entries: regular files leave a copy, the FIFO and the empty
    # directory only their reason; full.eml stays in new/ with its reason, reported once.
    echo "fuzz spool end-to-end: files=$files+$special special queued=$queued quarantined=$failed with_error=$errors bad_error_files=$bad_errors left_in_new=$left failed_kb=$failed_kb unmovable_reports=$reports daemon_alive=$alive"
    (( queued + failed == files + special - 2 && errors == failed + 3 && bad_errors == 0 && left == 0 )) || status=1
    (( failed_kb < 65536 && reports == 1 )) && [[ -d $dir/spool/new/full.eml ]] && [[ $alive == yes ]] || status=1
    return $status
}

scenario_smtp_fuzz() {
    local flags=(-c "$config")
    [[ $config == release ]] && flags+=(--static-swift-stdlib)
    swift build "${flags[@]}" --product outbox-fuzz >/dev/null
    "$bin/outbox-fuzz" --smtp "${1:-100000}" "${FUZZ_SEED:-$RANDOM}"
}

scenario_smtp_kill9() {
    local n=${1:-5000} kills=${2:-20} dir=$work/outboxd listen_port
    server_start 0
    mkdir -p "$dir"
    listen_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    outboxd_configure "$dir" "$sink_port" true
    printf 'listen:\n  addresses: 127.0.0.1:%s\n' "$listen_port" >> "$dir/outbox.yaml"
    outboxd_start "$dir"
    # log.level is warning here: wait for the port rather than for the "Listening" notice.
    listening() { /usr/bin/python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$listen_port"; }
    wait_until 20 listening || { echo "faults: the listener did not start" >&2; return 1; }
    /usr/bin/python3 scripts/smtp-submit-loop.py --port "$listen_port" --count "$n" --acked "$work/acked.txt" --tag k9 \
        --deadline 1200 > "$work/loop.out" 2>&1 &
    local loop_pid=$! done_kills=0
    while (( done_kills < kills )) && kill -0 "$loop_pid" 2>/dev/null; do
        sleep "0.$(( RANDOM % 900 + 100 ))"
        kill -KILL "$outboxd_pid" 2>/dev/null || true
        wait "$outboxd_pid" 2>/dev/null || true
        done_kills=$((done_kills + 1))
        outboxd_start "$dir"
        wait_until 20 listening || true
    done
    wait "$loop_pid"
    local acked
    acked=$(wc -l < "$work/acked.txt")
    wait_until 1200 "[[ \$(outboxd_count $dir sent) -ge $acked ]]" || echo "faults: the queue did not drain" >&2
    sleep 1
    outboxd_stop
    local result status=0
    result=$(/usr/bin/python3 - "$work/received" "$work/acked.txt" <<'PY'
import collections, json, os, re, sys
folder, acked = sys.argv[1], [l.split()[0] for l in open(sys.argv[2]) if l.strip()]
seen = collections.Counter()
for name in os.listdir(folder) if os.path.isdir(folder) else []:
    if name.endswith(".json"):
        m = re.search(r"Subject: (k9-\d{6})", json.load(open(os.path.join(folder, name)))["data"])
        if m:
            seen[m.group(1)] += 1
lost = [t for t in acked if seen[t] == 0]
print("acked=%d lost=%d duplicated=%d" % (len(acked), len(lost), sum(c - 1 for c in seen.values() if c > 1)))
sys.exit(1 if lost else 0)
PY
) || status=1
    local dup=${result##*duplicated=}
    # The bound: per kill, one client session's lost 250 plus one message per delivery worker.
    (( dup <= done_kills * (1 + OUTBOXD_WORKERS) )) || { echo "faults: more duplicates than the bound" >&2; status=1; }
    echo "smtp-kill9: kills=$done_kills messages=$n $result bound=$(( done_kills * (1 + OUTBOXD_WORKERS) )) client: $(cat "$work/loop.out")"
    (( $(wc -l < "$work/acked.txt") == n )) || { echo "faults: the client did not finish" >&2; status=1; }
    return $status
}

# count_whole N: like count_received, and how many arrived without their last line "END <i>".
count_whole() {
    /usr/bin/python3 - "$work/received" "$1" <<'PY'
import collections, json, os, re, sys
folder, n = sys.argv[1], int(sys.argv[2])
seen, short = collections.Counter(), 0
for name in os.listdir(folder) if os.path.isdir(folder) else []:
    if name.endswith(".json"):
        data = json.load(open(os.path.join(folder, name)))["data"]
        m = re.search(r"Message-ID: <(\d+)@faults>", data)
        if m:
            seen[int(m.group(1))] += 1
            if "END %s" % m.group(1) not in data:
                short += 1
lost = [i for i in range(n) if seen[i] == 0]
duplicated = sum(c - 1 for c in seen.values() if c > 1)
print("lost=%d duplicated=%d truncated=%d" % (len(lost), duplicated, short))
sys.exit(1 if lost or short or duplicated else 0)
PY
}

# clock_shim: builds scripts/clock-shift.c; prints the LD_PRELOAD library's path.
clock_shim() {
    cc -shared -fPIC -O2 -o "$work/clock-shift.so" scripts/clock-shift.c -ldl
    echo 0 > "$work/clock-offset"
    echo "$work/clock-shift.so"
}

scenario_careless() {
    local n=${1:-200} dir=$work/outboxd big=3
    server_start
    mkdir -p "$dir"
    outboxd_configure "$dir" "$sink_port" true
    outboxd_start "$dir"
    wait_until 20 "[[ -d $dir/spool/new ]]"
    # Three large messages, each cp'd straight into new/ (cp writes in place, in pieces).
    for k in $(seq 0 $((big - 1))); do
        /usr/bin/python3 -c '
import sys
i = int(sys.argv[1])
line = "y" * 75 + "\n"
body = line * (8 * 1024 * 1024 // len(line))
open(sys.argv[2], "w").write("From: s@faults.test\nTo: r@example.com\nSubject: big %d\nMessage-ID: <%d@faults>\n\n%sEND %d\n" % (i, i, body, i))
' "$((n + k))" "$work/big$k.eml"
    done
    local copies=()
    for k in $(seq 0 $((big - 1))); do
        cp "$work/big$k.eml" "$dir/spool/new/big$k.eml" &
        copies+=($!)
    done
    # Small messages written in place: a third in one go, two thirds by slow writers that pause
    # 1.5 s with the file open (at most 40 at once).
    /usr/bin/python3 - "$dir/spool/new" "$n" <<'PY'
import os, sys, threading, time
new, n = sys.argv[1], int(sys.argv[2])
slots = threading.Semaphore(40)
def write(i):
    with slots:
        head = "From: s@faults.test\nTo: r@example.com\nSubject: careless %d\nMessage-ID: <%d@faults>\n\n" % (i, i)
        with open(os.path.join(new, "c.%d.eml" % i), "w") as f:
            f.write(head)
            if i % 3:
                f.flush()
                time.sleep(1.5)
            f.write(("x" * 75 + "\n") * 20)
            f.flush()
            if i % 3 == 2:
                time.sleep(1.5)
            f.write("END %d\n" % i)
threads = [threading.Thread(target=write, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
PY
    wait "${copies[@]}"
    local total=$((n + big))
    wait_until 300 "[[ \$(outboxd_count $dir sent) -ge $total ]]" || echo "faults: not all delivered" >&2
    sleep 1
    outboxd_stop
    local quarantined counts status=0
    quarantined=$(find "$dir/spool/failed" -type f ! -name '*.error' | wc -l)
    counts=$(count_whole "$total") || status=1
    echo "careless: messages=$total (cp of 8 MB: $big, slow writers: $(( n * 2 / 3 ))) quarantined=$quarantined $counts"
    (( quarantined == 0 )) || status=1
    return $status
}

scenario_long_send() {
    local dir=$work/outboxd shim
    shim=$(clock_shim)
    # The relay holds each reply to the final dot 5 s: the first send is in flight when the clock moves.
    server_start 0 --data-delay 5
    mkdir -p "$dir"
    outboxd_configure "$dir" "$sink_port" true
    LD_PRELOAD=$shim OUTBOX_CLOCK_OFFSET_FILE=$work/clock-offset outboxd_start "$dir"
    wait_until 20 "[[ -d $dir/spool/new ]]"
    produce "$dir/spool" 0 1
    sleep 1.5
    echo 660 > "$work/clock-offset"  # 11 minutes on: the old 600 s lease looks expired
    sleep 0.3
    produce "$dir/spool" 1 5          # wakes the idle workers, which claim what looks due
    wait_until 120 "[[ \$(outboxd_count $dir sent) -ge 5 ]]" || echo "faults: not all delivered" >&2
    sleep 6                           # a second copy of the first would have arrived by now
    outboxd_stop
    local counts status=0 lost_lease
    counts=$(count_received 5) || status=1
    lost_lease=$(grep -c 'lease lost' "$dir/outboxd.log" || true)
    echo "long-send: messages=5 send_time=5s clock_moved=+660s $counts lease_lost_lines=$lost_lease"
    [[ $counts == *"duplicated=0"* ]] || status=1
    return $status
}

scenario_clock_steps() {
    local n=${1:-400} dir=$work/outboxd shim
    shim=$(clock_shim)
    server_start 0 --fail-data 451    # the first pass is deferred
    local port=$sink_port
    mkdir -p "$dir"
    outboxd_configure "$dir" "$port" true "first_retry: 1s" "max_retry_delay: 3s"
    LD_PRELOAD=$shim OUTBOX_CLOCK_OFFSET_FILE=$work/clock-offset outboxd_start "$dir"
    wait_until 20 "[[ -d $dir/spool/new ]]"
    produce "$dir/spool" 0 "$n"
    wait_until 120 "[[ \$(outboxd_count $dir deferred) -ge $((n / 4)) ]]" || true
    server_stop
    server_start "$port" --data-delay 0.05
    local steps=0 deadline=$(( $(date +%s) + 300 )) offsets=(518400 -518400 0 -518400 518400 0)
    while (( $(outboxd_count "$dir" sent) + $(outboxd_count "$dir" failed) < n && $(date +%s) < deadline )); do
        echo "${offsets[steps % 6]}" > "$work/clock-offset"
        steps=$((steps + 1))
        sleep 0.5
    done
    echo 0 > "$work/clock-offset"
    wait_until 60 "[[ \$(outboxd_count $dir sent) -ge $n ]]" || true
    sleep 1
    outboxd_stop
    local sent failed counts status=0
    sent=$(outboxd_count "$dir" sent)
    failed=$(outboxd_count "$dir" failed)
    counts=$(count_received "$n") || status=1
    echo "clock-steps: messages=$n steps=$steps (6 days forward and back) sent=$sent failed=$failed $counts"
    (( sent == n && failed == 0 )) && [[ $counts == *"duplicated=0"* ]] || status=1
    return $status
}

scenario_db_removed() {
    local n=${1:-600} dir=$work/outboxd
    server_start
    mkdir -p "$dir/db"
    outboxd_configure "$dir" "$sink_port" false
    sed -i "s|database: .*|database: $dir/db/queue.sqlite3|" "$dir/outbox.yaml"
    outboxd_start "$dir"
    wait_until 20 "[[ -d $dir/spool/new ]]"
    produce "$dir/spool" 0 $((n / 2))
    wait_until 120 "[[ \$(sqlite3 file:$dir/db/queue.sqlite3?mode=ro 'SELECT count(*) FROM message') -ge $((n / 2)) ]]" || true
    produce "$dir/spool" $((n / 2)) "$n" &
    local producer=$!
    sleep 0.2
    rm -rf "$dir/db"                   # the mistaken cleanup
    local exit_status=0
    wait_until 60 "! kill -0 $outboxd_pid" || echo "faults: outboxd did not exit" >&2
    wait "$outboxd_pid" 2>/dev/null || exit_status=$?
    outboxd_pid=
    wait "$producer"
    local written_back
    written_back=$(find "$dir/spool/new" -name 'recovered-*' | wc -l)
    mkdir -p "$dir/db"                 # what systemd's StateDirectory= does at the restart
    outboxd_configure "$dir" "$sink_port" true
    sed -i "s|database: .*|database: $dir/db/queue.sqlite3|" "$dir/outbox.yaml"
    outboxd_start "$dir"
    wait_until 300 "[[ \$(sqlite3 file:$dir/db/queue.sqlite3?mode=ro \"SELECT count(*) FROM message WHERE state = 'sent'\") -ge $n ]]" || true
    sleep 1
    outboxd_stop
    local counts status=0
    counts=$(count_received "$n") || status=1
    echo "db-removed: messages=$n exit_status=$exit_status written_back=$written_back $counts"
    (( exit_status == 75 && written_back > 0 )) || status=1
    return $status
}

scenario_kept() {
    local n=${1:-200} dir=$work/outboxd
    server_start
    mkdir -p "$dir/spool/new" "$dir/spool/tmp" "$dir/spool/failed"
    produce "$dir/spool" 0 "$n"        # while outboxd is down: all found at its start
    mount --bind "$dir/spool/new" "$dir/spool/new"
    mounted=$dir/spool/new
    mount -o remount,bind,ro "$dir/spool/new"   # new/ read-only to the daemon: nothing can be removed
    outboxd_configure "$dir" "$sink_port" true
    sed -i "s|^  directory: .*|&\n  rescan_interval: 1s|" "$dir/outbox.yaml"
    outboxd_start "$dir"
    wait_until 120 "[[ \$(outboxd_count $dir sent) -ge $n ]]" || echo "faults: not all delivered" >&2
    wait_until 20 "[[ \$(db $dir 'SELECT count(*) FROM spool_kept') -ge $n ]]" || true
    local kept_rows warnings purged queued_again in_new removed
    kept_rows=$(db "$dir" 'SELECT count(*) FROM spool_kept')
    # The sent mail purged (its spool names free in the message table), scans at every second,
    # and a restart (the kept files read back from the queue): nothing may be queued again.
    purged=$("$bin/outbox" purge --state sent --older-than 0s --config "$dir/outbox.yaml")
    sleep 3
    outboxd_stop
    outboxd_start "$dir"
    sleep 3
    queued_again=$(db "$dir" 'SELECT count(*) FROM message')
    warnings=$(grep -c 'Cannot remove a queued spool file' "$dir/outboxd.log" || true)
    in_new=$(find "$dir/spool/new" -type f | wc -l)
    # The mount lifted: the next rescan removes every kept file and drops its row.
    umount "$dir/spool/new"
    mounted=
    wait_until 20 "[[ -z \$(ls -A $dir/spool/new) && \$(db $dir 'SELECT count(*) FROM spool_kept') == 0 ]]" || true
    removed=$(( in_new - $(find "$dir/spool/new" -type f | wc -l) ))
    outboxd_stop
    local counts status=0
    counts=$(count_received "$n") || status=1
    echo "kept: files=$n kept_rows=$kept_rows warnings=$warnings ($purged) queued_again_after_purge=$queued_again" \
        "left_in_new=$in_new removed_after_umount=$removed $counts"
    (( kept_rows == n && warnings == n && queued_again == 0 && in_new == n && removed == n )) || status=1
    [[ $counts == *"duplicated=0"* ]] || status=1
    return $status
}

case $scenario in
    kill9 | flapping | disk-full | two-daemons | corrupt-db | fuzz | smtp-kill9 | smtp-fuzz | careless | long-send | clock-steps | db-removed | kept) ;;
    *) echo "usage: $0 kill9|flapping|disk-full|two-daemons|corrupt-db|fuzz|smtp-kill9|smtp-fuzz|careless|long-send|clock-steps|db-removed|kept|smoke [ARGS]" >&2; exit 64 ;;
esac
build
rm -rf "$work"; mkdir -p "$work"
"scenario_${scenario//-/_}" "$@"
