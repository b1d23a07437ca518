#!/usr/bin/env bash
# bench/run.sh [N ...] — the drain benchmark, all in one run on this machine (see bench/RESULTS.md).
#
# For each N (default: 10000) it measures, against the same postfix smtp-sink on 127.0.0.1 and
# the same ~2 KB message: the loopback limit (smtp-source, 1 and 8 reused sessions); Postfix as a
# null client (queue filled with the relay deferred, timed from the flush until the sink has all N
# and the queue is empty); nullmailer (queued while nullmailer-send is stopped, timed from its
# start); outboxd (queued while SMTP is disabled, timed from the start with SMTP enabled until
# all N are recorded as sent). It prints a table of rates, ratios and peak PSS. Timings are for
# comparing within one run only. Run as root; installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
sizes=("${@:-10000}")
work=${BENCH_DIR:-/tmp/outbox-bench}
source bench/lib.sh
source bench/postfix.sh
source bench/nullmailer.sh
source bench/outboxd.sh

need=()
for p in postfix sqlite3 debootstrap bc; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p"); done
if ((${#need[@]})); then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
config=${BENCH_CONFIG:-release}   # debug only for a quick smoke run of the script itself
# As install.sh builds it (static Swift runtime), so memory is measured as deployed.
swift build -c "$config" --static-swift-stdlib --product outboxd >/dev/null
bin=$(swift build -c "$config" --static-swift-stdlib --show-bin-path)

rm -rf "$work"; mkdir -p "$work"
cleanup() { outboxd_stop; nullmailer_stop; postfix_stop "$work/postfix"; sink_stop; kill "${sampler:-}" 2>/dev/null || true; }
trap cleanup EXIT

message=$work/message.eml
{
    printf 'From: sender@bench.localdomain\nTo: rcpt@example.com\nSubject: outbox benchmark\nMessage-ID: <bench@bench.localdomain>\n\n'
    for _ in $(seq 25); do printf '%079d\n' 0; done
} > "$message"

# timed_drain LABEL N COUNT_CMD: waits until COUNT_CMD reaches N (bounded: 30 min); prints seconds.
timed_drain() {
    local start=$1 n=$2 check=$3
    wait_until 1800 "[[ \$($check) -ge $n ]]" || { echo "bench: $4 did not finish" >&2; return 1; }
    echo "$(now) - $start" | bc
}

printf '%-34s %8s %10s %10s %12s\n' "what" "N" "seconds" "msgs/s" "peak PSS MB"
for n in "${sizes[@]}"; do
    declare -A secs=() pss=()
    sink_port=$(free_port)
    sink_start "$sink_port" "$work/sink.out"

    for s in 1 8; do
        base=$(sink_count "$work/sink.out"); t0=$(now)
        smtp-source -s "$s" -d -m "$n" -l 2000 -f sender@bench.localdomain -t rcpt@example.com -M bench.localdomain "127.0.0.1:$sink_port"
        wait_until 600 "[[ \$(( \$(sink_count $work/sink.out) - $base )) -ge $n ]]"
        secs[limit$s]=$(echo "$(now) - $t0" | bc)
    done

    # Postfix
    sink_stop; sink_start "$sink_port" "$work/sink.out"
    inject=$(free_port)
    postfix_setup "$work/postfix" "$sink_port" "$inject"
    smtp-source -s 8 -m "$n" -l 2000 -f sender@bench.localdomain -t rcpt@example.com -M bench.localdomain "127.0.0.1:$inject"
    wait_until 600 "[[ \$(grep -c 'status=deferred' $work/postfix/maillog) -ge $n ]]"
    master=$(postfix_main_pid "$work/postfix")
    sample_pss "$work/pss.postfix" "$master" & sampler=$!
    t0=$(now); postfix_release "$work/postfix"
    secs[postfix]=$(timed_drain "$t0" "$n" "sink_count $work/sink.out" postfix)
    wait_until 60 "[[ \$(postfix_queued $work/postfix) -eq 0 ]]"
    kill "$sampler"; wait "$sampler" 2>/dev/null || true; pss[postfix]=$(cat "$work/pss.postfix")
    [[ $(postfix_sent_count "$work/postfix") -ge $n ]] || echo "bench: postfix log disagrees" >&2
    postfix_stop "$work/postfix"

    # nullmailer
    sink_stop; sink_start "$sink_port" "$work/sink.out"
    nullmailer_setup "$work/nullmailer/root" "$sink_port"
    nullmailer_fill "$work/nullmailer/root" "$n" "$message" 2>/dev/null
    t0=$(now); nullmailer_start "$work/nullmailer/root"
    sample_pss "$work/pss.nullmailer" "$nullmailer_pid" & sampler=$!
    secs[nullmailer]=$(timed_drain "$t0" "$n" "sink_count $work/sink.out" nullmailer)
    kill "$sampler"; wait "$sampler" 2>/dev/null || true; pss[nullmailer]=$(cat "$work/pss.nullmailer")
    nullmailer_stop

    # outboxd
    sink_stop; sink_start "$sink_port" "$work/sink.out"
    outboxd_fill "$work/outboxd" "$n" "$message"
    outboxd_configure "$work/outboxd" "$sink_port" true
    t0=$(now); outboxd_start "$work/outboxd"
    sample_pss "$work/pss.outboxd" "$outboxd_pid" & sampler=$!
    # Timed like the peers: until the sink counted N; then every one must be recorded as sent.
    secs[outboxd]=$(timed_drain "$t0" "$n" "sink_count $work/sink.out" outboxd)
    wait_until 60 "[[ \$(outboxd_count $work/outboxd sent) -ge $n ]]" || echo "bench: outboxd recorded fewer than $n as sent" >&2
    kill "$sampler"; wait "$sampler" 2>/dev/null || true; pss[outboxd]=$(cat "$work/pss.outboxd")
    outboxd_stop
    sink_stop

    for what in limit1 limit8 postfix nullmailer outboxd; do
        mb=$(awk -v k="${pss[$what]:-0}" 'BEGIN { printf (k ? "%.1f" : "-"), k / 1024 }')
        printf '%-34s %8d %10.2f %10s %12s\n' "$what" "$n" "${secs[$what]}" "$(rate "$n" "${secs[$what]}")" "$mb"
    done
    r() { awk -v a="${secs[$2]}" -v b="${secs[$1]}" 'BEGIN { printf "%.2f", a / b }'; }
    echo "ratios N=$n: outboxd/postfix $(r outboxd postfix)x  outboxd/nullmailer $(r outboxd nullmailer)x  outboxd/limit8 $(r outboxd limit8)"
done
