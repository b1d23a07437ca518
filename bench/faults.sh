#!/usr/bin/env bash
# bench/faults.sh kill9 [N] [KILLS] — the kill -9 fault run (issue 8): outboxd drains N messages
# (unique Message-IDs) to a counting SMTP server on 127.0.0.1 while it is killed with SIGKILL at
# random instants KILLS times and restarted each time. Then every Message-ID must have arrived
# (lost = 0), and duplicates are counted (only a kill between the server's final 250 and our
# commit may cause one). Prints "kills=… lost=… duplicated=…" and exits non-zero when a message
# was lost. Defaults: N=2000, KILLS=50 (the full run in bench/RESULTS.md uses 10000 and 200).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
scenario=${1:-kill9}
n=${2:-2000}
kills=${3:-50}
[[ $scenario == kill9 ]] || { echo "usage: $0 kill9 [N] [KILLS]" >&2; exit 64; }
work=${FAULTS_DIR:-/tmp/outbox-faults}
source bench/lib.sh
source bench/outboxd.sh

config=${BENCH_CONFIG:-debug}
swift build -c "$config" --product outboxd >/dev/null
bin=$(swift build -c "$config" --show-bin-path)
rm -rf "$work"; mkdir -p "$work"
cleanup() { outboxd_stop; [[ -n ${server_pid:-} ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

/usr/bin/python3 scripts/smtp-server.py --quiet --port-file "$work/port" --out "$work/received" &
server_pid=$!
wait_until 20 "[[ -s $work/port ]]"
sink_port=$(cat "$work/port")

# Fill the queue with SMTP disabled: N messages, Message-ID <i@faults>.
dir=$work/outboxd
mkdir -p "$dir"
outboxd_configure "$dir" "$sink_port" false
outboxd_start "$dir"
wait_until 20 "[[ -d $dir/spool/new ]]"
/usr/bin/python3 - "$dir/spool" "$n" <<'PY'
import os, sys
spool, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    name = "f.%d.eml" % i
    body = "From: s@faults.test\nTo: r@example.com\nSubject: fault %d\nMessage-ID: <%d@faults>\n\n%s" % (i, i, ("x" * 75 + "\n") * 20)
    with open(os.path.join(spool, "tmp", name), "w") as f:
        f.write(body)
    os.rename(os.path.join(spool, "tmp", name), os.path.join(spool, "new", name))
PY
wait_until 600 "[[ \$(outboxd_count $dir queued) -ge $n ]]"
outboxd_stop

# Drain with SMTP enabled, killing at random instants.
outboxd_configure "$dir" "$sink_port" true
done_kills=0
while (( done_kills < kills )); do
    outboxd_start "$dir"
    sleep "0.$(( RANDOM % 900 + 50 ))"
    kill -KILL "$outboxd_pid" 2>/dev/null || true
    wait "$outboxd_pid" 2>/dev/null || true
    outboxd_pid=
    done_kills=$((done_kills + 1))
    (( $(outboxd_count "$dir" sent) >= n )) && break
done
outboxd_start "$dir"
wait_until 1200 "[[ \$(outboxd_count $dir sent) -ge $n ]]" || echo "faults: the queue did not drain" >&2
sleep 1
outboxd_stop

/usr/bin/python3 - "$work/received" "$n" "$done_kills" <<'PY'
import collections, json, os, re, sys
folder, n, kills = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = collections.Counter()
for name in os.listdir(folder):
    if name.endswith(".json"):
        m = re.search(r"Message-ID: <(\d+)@faults>", json.load(open(os.path.join(folder, name)))["data"])
        if m:
            seen[int(m.group(1))] += 1
lost = [i for i in range(n) if seen[i] == 0]
duplicated = sum(c - 1 for c in seen.values() if c > 1)
print("kills=%d messages=%d lost=%d duplicated=%d" % (kills, n, len(lost), duplicated))
sys.exit(1 if lost else 0)
PY
