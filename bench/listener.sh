#!/usr/bin/env bash
# bench/listener.sh [N] — SMTP acceptance (issue 12), all in one run on this machine (bench/RESULTS.md).
#
# Postfix's smtp-source sends N messages of ~2 KB (one connection per message, as XNAT does) with
# 1 and with 8 concurrent sessions into (a) outboxd's listener, SMTP delivery disabled so only
# acceptance is measured, and (b) a private Postfix smtpd → queue (bench/postfix.sh, relay deferred).
# A message counts when its 250 arrived, which both give only after the queue file/row is on disk.
# Then JavaMail's send() as XNAT calls it (scripts/java/XNATMailClient.java, a new connection per
# mail) into outboxd: median and p99. Peak PSS of outboxd idle (listener open) and under the 8-session
# load. Run as root. Default N 20000.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
javamail_n=${JAVAMAIL_N:-1000}
work=${BENCH_DIR:-/tmp/outbox-bench-listener}
source bench/lib.sh
source bench/postfix.sh
source bench/outboxd.sh
config=${BENCH_CONFIG:-release}
swift build -c "$config" --static-swift-stdlib --product outboxd >/dev/null
bin=$(swift build -c "$config" --static-swift-stdlib --show-bin-path)

rm -rf "$work"; mkdir -p "$work"
sampler=
cleanup() { outboxd_stop; postfix_stop "$work/postfix"; [[ -n $sampler ]] && kill "$sampler" 2>/dev/null; true; }
trap cleanup EXIT

unused_sink=$(free_port)   # Postfix's relay: deferred, never contacted

# source PORT SESSIONS COUNT: smtp-source, one message per connection; prints seconds.
source_run() {
    local start
    start=$(now)
    smtp-source -s "$2" -m "$3" -l 2048 -f sender@bench.localdomain -t rcpt@example.com "127.0.0.1:$1" >/dev/null
    echo "$(now) - $start" | bc
}

declare -A secs=()
# outboxd: listener on a free port, delivery off.
od=$work/outboxd
mkdir -p "$od"
od_port=$(free_port)
outboxd_configure "$od" "$unused_sink" false
printf 'listen:\n  addresses: 127.0.0.1:%s\n  max_connections: 100\n' "$od_port" >> "$od/outbox.yaml"
outboxd_start "$od"
wait_until 20 "(exec 3<>/dev/tcp/127.0.0.1/$od_port) 2>/dev/null"
sleep 1
idle_pss=$(pss_tree "$outboxd_pid")
secs[outboxd1]=$(source_run "$od_port" 1 "$n")
sample_pss "$work/outboxd.pss" "$outboxd_pid" & sampler=$!
secs[outboxd8]=$(source_run "$od_port" 8 "$n")
kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=
load_pss=$(cat "$work/outboxd.pss")
queued=$(outboxd_count "$od" queued)
(( queued == 2 * n )) || echo "bench: outboxd queued $queued of $((2 * n))" >&2
javac -cp "$(printf '/usr/share/java/%s:' javax.mail.jar javax.activation.jar spring3-context.support.jar spring3-context.jar spring3-beans.jar spring3-core.jar commons-logging.jar)" \
    -d "$work" scripts/java/XNATMailClient.java
java -cp "$work:$(printf '/usr/share/java/%s:' javax.mail.jar javax.activation.jar spring3-context.support.jar spring3-context.jar spring3-beans.jar spring3-core.jar commons-logging.jar)" \
    XNATMailClient 127.0.0.1 "$od_port" bench "$javamail_n" > "$work/javamail.us"
outboxd_stop

# Postfix smtpd → queue.
pf=$work/postfix
pf_port=$(free_port)
postfix_setup "$pf" "$unused_sink" "$pf_port"
secs[postfix1]=$(source_run "$pf_port" 1 "$n")
secs[postfix8]=$(source_run "$pf_port" 8 "$n")
wait_until 120 "[[ \$(postfix_queued $pf) -ge $((2 * n)) ]]" || echo "bench: postfix queued $(postfix_queued "$pf") of $((2 * n))" >&2
postfix_stop "$pf"

rate() { echo "scale=0; $n / ${secs[$1]}" | bc; }
printf '%-44s %8s %9s %9s\n' "acceptance (smtp-source, 2 KB, 1 msg/conn)" "N" "seconds" "msgs/s"
for k in outboxd1 postfix1 outboxd8 postfix8; do printf '%-44s %8d %9.2f %9d\n' "$k" "$n" "${secs[$k]}" "$(rate "$k")"; done
printf 'ratio outboxd/postfix: 1 session %.2fx, 8 sessions %.2fx\n' \
    "$(echo "scale=3; ${secs[postfix1]} / ${secs[outboxd1]}" | bc)" "$(echo "scale=3; ${secs[postfix8]} / ${secs[outboxd8]}" | bc)"
/usr/bin/python3 - "$work/javamail.us" <<'PY'
import sys
v = sorted(int(x) for x in open(sys.argv[1]) if x.strip())
warm = v  # every send, the first (JIT, class loading) included
q = lambda p: warm[min(len(warm) - 1, int(p * len(warm)))] / 1000
print("JavaMail send() into outboxd (new connection each, N=%d): median %.2f ms, p99 %.2f ms, max %.2f ms" % (len(v), q(0.5), q(0.99), warm[-1] / 1000))
PY
echo "outboxd peak PSS: idle $((idle_pss / 1024)) MB, under 8-session load $((load_pss / 1024)) MB"
