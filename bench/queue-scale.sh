#!/usr/bin/env bash
# bench/queue-scale.sh [SIZES...] — issue 8's queue-scale targets, measured on this machine
# (see bench/RESULTS.md, "Queue scale"). Default sizes: 1000 1000000. Run as root.
#
# For each size N it builds a queue of N ~2 KB messages (outboxd creates the schema with SMTP
# disabled; then the sqlite3 CLI bulk-inserts message + recipient rows shaped as the intake writes
# them; the filled file is kept as a template per schema under $BENCH_DIR), then measures:
#   - start → READY=1: a small python3 listener owns the NOTIFY_SOCKET and timestamps each datagram.
#     "first" is the first start after the bulk insert (someone else changed the file: the full
#     check runs); "clean" is the median of 3 starts after a clean stop.
#   - RSS and PSS of the daemon 2 s after READY (idle, SMTP disabled), and the peak while draining.
#   - claim+ack rate against postfix's smtp-sink, from the `updated_at` the daemon stamps on each
#     sent message. Like with like: $SCALE_DRAIN (20 000) deliveries per size, in $SCALE_ROUNDS (2)
#     rounds that alternate between the sizes (the machine's other load falls on both). A large N:
#     each round drains DRAIN/ROUNDS messages and counts deliveries 1 000..DRAIN/ROUNDS (the queue
#     stays ~N). A small N: the queue is drained, reset to queued with the daemon stopped, and
#     drained again, each run counted over deliveries 10 %..90 % of N (the queue stays ≤ N).
# Prints one table and the ratios against the targets (READY ≤ 200 ms, RSS ≤ 40 MB at 1 M queued,
# rate at 1 M ≥ 90 % of the rate at 1 k). Every wait is bounded. Rates vary with the machine's
# load; compare within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-/tmp/outbox-scale}
source bench/lib.sh
source bench/outboxd.sh
read -r -a sizes <<< "${*:-1000 1000000}"
drain=${SCALE_DRAIN:-20000}
config=${BENCH_CONFIG:-release}

need=()
for p in postfix sqlite3; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p"); done
if ((${#need[@]})); then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
swift build -c "$config" $([[ $config == release ]] && echo --static-swift-stdlib) --product outboxd >/dev/null  # as install.sh builds it
bin=$(swift build -c "$config" $([[ $config == release ]] && echo --static-swift-stdlib) --show-bin-path)

mkdir -p "$work"
rm -rf "$work"/q* "$work/notify.sock" "$work/notify.log"
notify_pid=
cleanup() {
    outboxd_stop
    sink_stop
    [[ -n $notify_pid ]] && kill "$notify_pid" 2>/dev/null
    wait 2>/dev/null || true
}
trap cleanup EXIT

# The notify socket: one line "<unix time> <datagram>" per message, appended to notify.log.
/usr/bin/python3 - "$work/notify.sock" "$work/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    data = s.recv(65536)
    t = time.time()
    with open(sys.argv[2], "a") as f:
        f.write("%.6f %s\n" % (t, data.decode(errors="replace").replace("\n", " | ")))
PY
notify_pid=$!
wait_until 10 "[[ -S $work/notify.sock ]]"

sink_port=$(free_port)
sink_start "$sink_port" "$work/sink.out"
# use_queue N: the queue of N messages is the one started and queried.
use_queue() { dir=$work/q$1; db=$dir/queue.sqlite3; }
sql() { sqlite3 -bail "$db" "$@"; }

# start_daemon: outboxd with the notify socket; sets t_start.
start_daemon() {
    : > "$work/notify.log"
    t_start=$(now)
    NOTIFY_SOCKET=$work/notify.sock "$bin/outboxd" --config "$dir/outbox.yaml" >> "$dir/outboxd.log" 2>&1 &
    outboxd_pid=$!
}
# ready_ms: waits (≤ 300 s) for READY=1 and prints start → READY in milliseconds.
ready_ms() {
    wait_until 300 "grep -q 'READY=1' $work/notify.log" || { echo "bench: no READY=1 within 300 s" >&2; return 1; }
    awk -v t0="$t_start" '/READY=1/ { printf "%.0f\n", ($1 - t0) * 1000; exit }' "$work/notify.log"
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# make_queue N: $db holds N queued messages, from the template for this schema when there is one.
make_queue() {
    local n=$1 hash template
    rm -rf "$dir"; mkdir -p "$dir"
    outboxd_configure "$dir" "$sink_port" false
    outboxd_start "$dir"
    wait_until 30 "[[ -d $dir/spool/new ]]" || { echo "bench: outboxd did not start" >&2; return 1; }
    outboxd_stop
    hash=$(sql .schema | md5sum | cut -c1-8)
    template=$work/template-$n-$hash.sqlite3
    if [[ -f $template ]]; then
        cp "$template" "$db"
        rm -f "$db-wal" "$db-shm"
        sync "$db"   # not measured: 2 GB of dirty pages would slow every fsync that follows
        return
    fi
    # As QueueStore.enqueue writes them: CRLF content with Date and Message-ID, size = bytes,
    # state queued, created/updated/next attempt = arrival (1 ms apart, all due); one recipient.
    local t0=$(( $(date +%s) * 1000 - n - 60000 ))
    sql > /dev/null <<SQL
PRAGMA journal_mode = DELETE;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
BEGIN;
CREATE TEMP TABLE bulk AS
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $n),
body(b) AS (SELECT replace(hex(zeroblob(21)), '00', printf('%079d', 0) || char(13, 10))),
msg(i, text) AS (
    SELECT i, 'From: sender@bench.localdomain' || char(13, 10) || 'To: rcpt@example.com' || char(13, 10)
        || 'Subject: outbox queue scale ' || i || char(13, 10)
        || 'Message-ID: <' || i || '.scale@bench.localdomain>' || char(13, 10)
        || 'Date: Thu, 26 Nov 2026 20:00:00 +0000' || char(13, 10) || char(13, 10) || b
    FROM seq, body)
SELECT i, CAST(text AS BLOB) AS content FROM msg;
INSERT INTO message (id, spool_name, sender, size, state, created_at, updated_at, next_attempt_at)
SELECT i, 'scale.' || i || '.eml', 'sender@bench.localdomain', length(content), 'queued', $t0 + i, $t0 + i, $t0 + i
FROM bulk;
INSERT INTO message_content (message_id, content) SELECT i, content FROM bulk;
DROP TABLE bulk;
INSERT INTO recipient (message_id, position, address) SELECT id, 0, 'rcpt@example.com' FROM message;
COMMIT;
PRAGMA journal_mode = WAL;
SQL
    cp "$db" "$template"
    sync "$db" "$template"
}

# reset_queue: every message queued again, no attempts (the daemon is stopped).
reset_queue() {
    sql "BEGIN;
         UPDATE recipient SET state = 'queued', last_reply = NULL
         WHERE message_id IN (SELECT id FROM message WHERE state IN ('sent', 'failed', 'deferred', 'held'));
         UPDATE message SET state = 'queued', attempts = 0, next_attempt_at = created_at, last_error = NULL,
             lease_owner = NULL, lease_expires_at = NULL
         WHERE state IN ('sent', 'failed', 'deferred', 'held');
         DELETE FROM attempt; COMMIT;" >/dev/null
}

# window_rate FROM TO: prints "deliveries milliseconds" between the FROM-th and TO-th sent message.
window_rate() {
    sql "SELECT updated_at FROM message WHERE state = 'sent' ORDER BY updated_at" \
        | awk -v a="$1" -v b="$2" 'NR == a { t = $1 } NR == b { print b - a, $1 - t; exit }'
}

# drain_run N_SENT: starts with SMTP on, waits (≤ 600 s) until N_SENT are sent, samples peak RSS/PSS, stops.
drain_run() {
    local target=$1 deadline=$(( $(date +%s) + 600 )) r p
    outboxd_configure "$dir" "$sink_port" true
    start_daemon
    while (( $(sql "SELECT count(*) FROM message WHERE state = 'sent'" 2>/dev/null || echo 0) < target )); do
        (( $(date +%s) < deadline )) || { echo "bench: drain did not reach $target in 600 s" >&2; return 1; }
        if kill -0 "$outboxd_pid" 2>/dev/null; then
            r=$(rss_kb "$outboxd_pid" 2>/dev/null || echo 0); p=$(pss_kb "$outboxd_pid" 2>/dev/null || echo 0)
            (( r > peak_rss )) && peak_rss=$r
            (( p > peak_pss )) && peak_pss=$p
        fi
        sleep 0.1
    done
    outboxd_stop
    outboxd_configure "$dir" "$sink_port" false
}

declare -A first clean idle_rss idle_pss drain_rss drain_pss rate checks total ms
for n in "${sizes[@]}"; do
    echo "queue-scale: building a queue of $n messages" >&2
    use_queue "$n"
    make_queue "$n"
    : > "$dir/outboxd.log"
    outboxd_configure "$dir" "$sink_port" false
    sed -i 's/level: warning/level: notice/' "$dir/outbox.yaml"
    start_daemon; first[$n]=$(ready_ms); outboxd_stop
    times=()
    for _ in 1 2 3; do
        start_daemon; times+=("$(ready_ms)")
        sleep 2
        idle_rss[$n]=$(rss_kb "$outboxd_pid"); idle_pss[$n]=$(pss_kb "$outboxd_pid")
        outboxd_stop
    done
    clean[$n]=$(printf '%s\n' "${times[@]}" | median)
    checks[$n]=$(grep -o 'outbox.check=.*outbox.duration_ms=[0-9]*' "$dir/outboxd.log" | sed 's/outbox.check_reason=//' | paste -sd ';' || true)
    drain_rss[$n]=0 drain_pss[$n]=0 total[$n]=0 ms[$n]=0
done

# The drains alternate between the sizes, $SCALE_ROUNDS times (default 2), so that the machine's
# other load falls on both alike; each starts from a queue reset to all-queued.
rounds=${SCALE_ROUNDS:-2}
for round in $(seq "$rounds"); do
    for n in "${sizes[@]}"; do
        use_queue "$n"
        peak_rss=${drain_rss[$n]} peak_pss=${drain_pss[$n]}
        per_round=$(( drain / rounds ))
        if (( n >= per_round )); then
            reset_queue
            drain_run "$per_round"
            read -r d t < <(window_rate 1000 "$per_round")
            total[$n]=$(( total[$n] + d )) ms[$n]=$(( ms[$n] + t ))
        else
            lo=$(( n / 10 )) hi=$(( n * 9 / 10 )) counted=0 runs=0
            while (( counted < per_round && runs < 200 )); do
                reset_queue
                drain_run "$n"
                read -r d t < <(window_rate "$lo" "$hi")
                total[$n]=$(( total[$n] + d )) ms[$n]=$(( ms[$n] + t ))
                counted=$(( counted + n )) runs=$(( runs + 1 ))
            done
        fi
        drain_rss[$n]=$peak_rss drain_pss[$n]=$peak_pss
        echo "queue-scale: round $round N=$n: ${total[$n]} deliveries in ${ms[$n]} ms so far" >&2
    done
done
for n in "${sizes[@]}"; do
    rate[$n]=$(awk -v d="${total[$n]}" -v t="${ms[$n]}" 'BEGIN { printf "%.0f", (t > 0 ? d * 1000 / t : 0) }')
done

echo
printf '%-10s %14s %14s %18s %18s %12s\n' "queued" "first→READY" "clean→READY" "idle RSS/PSS MB" "drain RSS/PSS MB" "msgs/s"
for n in "${sizes[@]}"; do
    printf '%-10s %12s ms %12s ms %18s %18s %12s\n' "$n" "${first[$n]}" "${clean[$n]}" \
        "$(mb "${idle_rss[$n]}")/$(mb "${idle_pss[$n]}")" "$(mb "${drain_rss[$n]}")/$(mb "${drain_pss[$n]}")" "${rate[$n]}"
done
for n in "${sizes[@]}"; do echo "check log N=$n (first start; 3 clean starts): ${checks[$n]:-none}"; done
big=${sizes[-1]} small=${sizes[0]}
ok() { awk "BEGIN { exit !($1) }" && echo "✔" || echo "✘"; }
echo "targets (N=$big): clean start→READY ${clean[$big]} ms ≤ 200 $(ok "${clean[$big]} <= 200");" \
    "RSS $(mb "${idle_rss[$big]}") MB idle, $(mb "${drain_rss[$big]}") MB draining ≤ 40 $(ok "${drain_rss[$big]} <= 40960");" \
    "rate $big/$small $(awk -v a="${rate[$big]}" -v b="${rate[$small]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') ≥ 0.90" \
    "$(ok "${rate[$small]} > 0 && ${rate[$big]} / ${rate[$small]} >= 0.9")"
