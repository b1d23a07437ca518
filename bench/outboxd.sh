# bench/outboxd.sh — outboxd relaying to the sink, with its state under $1. Sourced by bench/run.sh.
# 16 delivery workers (OUTBOXD_WORKERS): 16 SMTP sessions, where Postfix's default
# per-destination concurrency is 20; the shipped default (delivery.workers: 4) is for real relays.

# outboxd_configure DIR SINK_PORT ENABLED [DELIVERY_SETTING...]: DELIVERY_SETTINGs are more lines
# for the delivery: section ("first_retry: 1s"), which holds workers: already.
outboxd_configure() {
    local extra=""
    for setting in "${@:4}"; do extra+="  $setting"$'\n'; done
    cat > "$1/outbox.yaml" <<YAML
smtp:
  enabled: $3
  host: 127.0.0.1
  port: $2
delivery:
  workers: ${OUTBOXD_WORKERS:-16}
${extra}queue:
  database: $1/queue.sqlite3
spool:
  directory: $1/spool
log:
  level: warning
YAML
}

outboxd_start() {
    "$bin/outboxd" --config "$1/outbox.yaml" >> "$1/outboxd.log" 2>&1 &
    outboxd_pid=$!
}

outboxd_stop() { [[ -n ${outboxd_pid:-} ]] && kill -TERM "$outboxd_pid" 2>/dev/null; wait "${outboxd_pid:-}" 2>/dev/null || true; outboxd_pid=; }

# outboxd_count DIR STATE: messages in STATE.
outboxd_count() { sqlite3 "file:$1/queue.sqlite3?mode=ro" "SELECT count(*) FROM message WHERE state = '$2'" 2>/dev/null || echo 0; }

# outboxd_fill DIR N MESSAGE_FILE: N spool files the producer way (tmp/ then rename into new/),
# then waits until all are queued (SMTP is disabled meanwhile).
outboxd_fill() {
    local dir=$1 n=$2 message=$3
    rm -rf "$dir"; mkdir -p "$dir"
    outboxd_configure "$dir" "$sink_port" false
    outboxd_start "$dir"
    wait_until 20 "[[ -d $dir/spool/new ]]"
    /usr/bin/python3 - "$dir/spool" "$n" "$message" <<'PY'
import os, sys
spool, n, message = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "rb").read()
for i in range(n):
    name = "%d.%d.%d.eml" % (os.getpid(), i, n)
    with open(os.path.join(spool, "tmp", name), "wb") as f:
        f.write(message)
    os.rename(os.path.join(spool, "tmp", name), os.path.join(spool, "new", name))
PY
    wait_until 600 "[[ \$(outboxd_count $dir queued) -ge $n ]]"
    outboxd_stop
}
