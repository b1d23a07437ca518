# bench/lib.sh — shared pieces of the benchmark: the counting sink, timing, memory sampling.
# Sourced by bench/run.sh. Everything listens on 127.0.0.1 only; every wait is bounded.

now() { date +%s.%N; }

# free_port: a TCP port nothing listens on (asked from the kernel).
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# sink_start PORT OUTFILE: postfix's smtp-sink counting every message (-c writes "mesg=N" after each ".").
sink_start() {
    : > "$2"
    smtp-sink -c -m 256 -u nobody "127.0.0.1:$1" 1024 > "$2" 2>&1 &
    sink_pid=$!
    wait_until 10 "(exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null" || { echo "bench: smtp-sink did not start" >&2; return 1; }
}
sink_stop() { [[ -n ${sink_pid:-} ]] && kill "$sink_pid" 2>/dev/null; wait "${sink_pid:-}" 2>/dev/null || true; sink_pid=; }

# sink_count OUTFILE: messages the sink has answered 250 to so far.
sink_count() {
    local last
    last=$(tail -c 200 "$1" | tr '\r' '\n' | grep -o 'mesg=[0-9]*' | tail -n 1)
    echo "${last#mesg=}" | sed 's/^$/0/'
}

# wait_until SECONDS COMMAND: polls COMMAND every 20 ms until it succeeds; fails after SECONDS.
wait_until() {
    local deadline=$(( $(date +%s) + $1 ))
    shift
    until eval "$@" >/dev/null 2>&1; do
        (( $(date +%s) >= deadline )) && return 1
        sleep 0.02
    done
}

# pss_tree PID...: summed PSS in kB of the processes and all their descendants.
pss_tree() {
    local pids=("$@") all=() p
    while ((${#pids[@]})); do
        p=${pids[0]}; pids=("${pids[@]:1}")
        all+=("$p")
        pids+=($(pgrep -P "$p" || true))
    done
    local total=0 kb
    for p in "${all[@]}"; do
        kb=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}

# sample_pss OUTFILE PID...: writes "max_kB processes" of PSS sampled every 100 ms until killed.
sample_pss() {
    local out=$1; shift
    local max=0 cur
    while true; do
        cur=$(pss_tree "$@")
        (( cur > max )) && max=$cur && echo "$max" > "$out"
        sleep 0.1
    done
}

# rate N SECONDS: messages per second.
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
