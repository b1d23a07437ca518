#!/usr/bin/env bash
# bench/intake.sh [FILES] [DROPS] — spool intake rate and spool-to-SMTP latency (issue 8).
#
# 1. Intake rate: outboxd (release build, SMTP disabled) watches an empty spool; FILES ~2 KB spool
#    files (half .eml, half .json) are written into tmp/ and synced beforehand, then renamed into
#    new/ as fast as one producer can. The rate is FILES / (first rename → every row committed and
#    new/ empty), polled every 10 ms. Every file must be queued exactly once, none quarantined.
#    Target: ≥ 5 000 files/s.
# 2. Latency: bench/intake-latency.py runs an SMTP server in its own process and drops DROPS
#    messages one at a time into the spool of an idle outboxd delivering to it (pauses of
#    100–300 ms between drops), measuring with one clock from the rename to the first byte of the
#    message's SMTP transaction. Target: median ≤ 50 ms.
#
# Defaults: 20000 files, 200 drops. OUTBOXD=PATH runs that binary instead of building (e.g. an
# older build, for before/after figures). BENCH_DIR is the scratch directory (default
# /tmp/outbox-intake). INTAKE_PERF=FILE records a profile of outboxd during the intake run
# (perf record -g; read it with perf report -i FILE). INTAKE_PAUSE="MIN MAX" sets the idle pause
# before each drop in seconds (default "0.1 0.3"). Run as root on an otherwise idle machine;
# installs sqlite3 if missing (no smtp-sink needed: the latency harness is its own SMTP server).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
files=${1:-20000}
drops=${2:-200}
work=${BENCH_DIR:-/tmp/outbox-intake}
source bench/lib.sh
source bench/outboxd.sh

dpkg-query -W -f='${Status}' sqlite3 2>/dev/null | grep -q 'ok installed' \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sqlite3 >/dev/null
rm -rf "$work"; mkdir -p "$work"
if [[ -n ${OUTBOXD:-} ]]; then
    bin=$work/bin; mkdir -p "$bin"; ln -s "$(realpath "$OUTBOXD")" "$bin/outboxd"
else
    swift build -c release --static-swift-stdlib --product outboxd >/dev/null  # as install.sh builds it
    bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
fi

harness_pid=
cleanup() { outboxd_stop; [[ -n $harness_pid ]] && kill "$harness_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

# --- 1. intake rate -------------------------------------------------------------------------------
dir=$work/rate
mkdir -p "$dir"
outboxd_configure "$dir" 25 false
sed -i "s|level: warning|level: notice|" "$dir/outbox.yaml"  # "Ready"; per-message lines stay off
outboxd_start "$dir"
wait_until 20 "grep -q '] Ready' $dir/outboxd.log" || { echo "intake: outboxd did not start: $(tail -n 3 "$dir/outboxd.log")" >&2; exit 1; }
perf_pid=
if [[ -n ${INTAKE_PERF:-} ]]; then  # a profile of the daemon during the intake run: perf report -i FILE
    perf record -g -o "$INTAKE_PERF" -p "$outboxd_pid" >/dev/null 2>&1 &
    perf_pid=$!
    sleep 1
fi
rate_line=$(/usr/bin/python3 - "$dir/spool" "$dir/queue.sqlite3" "$files" "$outboxd_pid" <<'PY'
import json, os, sqlite3, sys, time
spool, database, n, daemon = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def cpu_seconds():  # the daemon's user + system time: less sensitive than the rate to a busy machine
    fields = open("/proc/%s/stat" % daemon).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
names = []
for i in range(n):  # written and synced before the clock starts: the producer's part is not timed
    if i % 2:
        name, ext = "rate.%06d" % i, ".json"
        content = json.dumps({"from": "bench@intake.test", "tos": ["rcpt%d@example.com" % i],
                              "subject": "intake %d" % i, "text": ("y" * 78 + "\n") * 24})
    else:
        name, ext = "rate.%06d" % i, ".eml"
        content = ("From: bench@intake.test\nTo: rcpt%d@example.com\nSubject: intake %d\n"
                   "Message-ID: <%d@intake.test>\n\n" % (i, i, i)) + ("x" * 78 + "\n") * 25
    with open(os.path.join(spool, "tmp", name), "w") as f:
        f.write(content)
    names.append((name, ext))
os.sync()
db = sqlite3.connect("file:%s?mode=ro" % database, uri=True)
cpu_before = cpu_seconds()
first = time.monotonic()
for name, ext in names:
    os.rename(os.path.join(spool, "tmp", name), os.path.join(spool, "new", name + ext))
renamed = time.monotonic()
deadline = renamed + 600
count = 0
while time.monotonic() < deadline:
    count = db.execute("SELECT count(*) FROM message").fetchone()[0]
    if count >= n and not any(True for _ in os.scandir(os.path.join(spool, "new"))):
        break
    time.sleep(0.01)
done = time.monotonic()
cpu = cpu_seconds() - cpu_before
distinct = db.execute("SELECT count(DISTINCT spool_name) FROM message").fetchone()[0]
failed = sum(1 for _ in os.scandir(os.path.join(spool, "failed")))
left = sum(1 for _ in os.scandir(os.path.join(spool, "new")))
print("intake: files=%d queued=%d distinct=%d quarantined=%d left_in_new=%d rename_s=%.2f seconds=%.2f files_per_s=%.0f daemon_cpu_s=%.2f"
      % (n, count, distinct, failed, left, renamed - first, done - first, n / (done - first), cpu))
PY
)
[[ -n $perf_pid ]] && { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
outboxd_stop
echo "$rate_line"

# --- 2. latency -----------------------------------------------------------------------------------
dir=$work/latency
mkdir -p "$dir"
/usr/bin/python3 bench/intake-latency.py "$dir/spool" "$work/port" "$drops" 8 ${INTAKE_PAUSE:-0.1 0.3} > "$work/latency.out" 2>&1 &
harness_pid=$!
wait_until 20 "[[ -s $work/port ]]" || { echo "intake: the latency harness did not start" >&2; exit 1; }
outboxd_configure "$dir" "$(cat "$work/port")" true
outboxd_start "$dir"
latency_status=0
wait "$harness_pid" || latency_status=$?
harness_pid=
outboxd_stop
latency_line=$(tail -n 1 "$work/latency.out")
echo "$latency_line"

# --- verdict --------------------------------------------------------------------------------------
rate=$(grep -o 'files_per_s=[0-9]*' <<<"$rate_line" | cut -d= -f2)
median=$(grep -o 'median_ms=[0-9.]*' <<<"$latency_line" | cut -d= -f2)
p90=$(grep -o 'p90_ms=[0-9.]*' <<<"$latency_line" | cut -d= -f2)
verdict() { if [[ $1 == 1 ]]; then echo "met"; else echo "MISSED"; fi; }
echo "intake rate: ${rate:-?} files/s (target >= 5000: $(verdict "$(awk -v r="${rate:-0}" 'BEGIN { print (r >= 5000) }')"))"
echo "latency: median ${median:-?} ms, p90 ${p90:-?} ms (target median <= 50 ms: $(verdict "$(awk -v m="${median:-1e9}" 'BEGIN { print (m <= 50) }')"))"
# Exit status: every file queued exactly once, none quarantined or left, no drop missed (not the targets).
field() { grep -o " $1=[0-9]*" <<<"$rate_line" | cut -d= -f2; }
[[ $(field queued) == "$files" && $(field distinct) == "$files" && $(field quarantined) == 0 && $(field left_in_new) == 0 \
    && $latency_status == 0 ]]
