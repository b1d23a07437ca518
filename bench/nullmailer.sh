# bench/nullmailer.sh — nullmailer 2.2 relaying to the sink. nullmailer and postfix conflict as
# Debian packages, so nullmailer runs unmodified in a bookworm chroot (the rootfs the systemd
# tests cache; it shares the host's network, so the sink on 127.0.0.1 is reachable).
# Sourced by bench/run.sh.

# nullmailer_setup ROOT SINK_PORT
nullmailer_setup() {
    local root=$1 sink=$2
    local tar=${OUTBOX_CI_CACHE_DIR:-/var/cache/outbox-ci}/nullmailer-rootfs.tar
    if [[ ! -s $tar ]]; then
        bash "$repo/scripts/systemd-container.sh" build-rootfs >&2
        local build; build=$(mktemp -d)
        tar -C "$build" -xf "${OUTBOX_CI_CACHE_DIR:-/var/cache/outbox-ci}/bookworm-rootfs.tar"
        cp /etc/resolv.conf "$build/etc/resolv.conf" 2>/dev/null || true
        mount --bind /proc "$build/proc"
        chroot "$build" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
            'apt-get update -qq && apt-get install -y -qq --no-install-recommends nullmailer' >&2 || { umount "$build/proc"; return 1; }
        umount "$build/proc"
        tar -C "$build" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
        rm -rf "$build"
    fi
    rm -rf "$root"; mkdir -p "$root"
    tar -C "$root" -xf "$tar"
    echo "bench.localdomain" > "$root/etc/mailname"
    echo "127.0.0.1 smtp --port=$sink" > "$root/etc/nullmailer/remotes"
    rm -f "$root"/var/spool/nullmailer/queue/* "$root"/var/spool/nullmailer/tmp/*
}

# nullmailer_fill ROOT N MESSAGE_FILE: queues N copies through nullmailer's own sendmail, two
# producers at a time (one per core; a 100 000-message fill takes minutes otherwise).
nullmailer_fill() {
    local root=$1 n=$2 message=$3 status=0
    cp "$message" "$root/tmp/message"
    chroot "$root" sh -c "i=0; while [ \$i -lt $(( n / 2 )) ]; do sendmail -t < /tmp/message || exit 1; i=\$((i+1)); done" & local first=$!
    chroot "$root" sh -c "i=0; while [ \$i -lt $(( n - n / 2 )) ]; do sendmail -t < /tmp/message || exit 1; i=\$((i+1)); done" || status=1
    wait "$first" || status=1
    return $status
}

nullmailer_queued() { find "$1/var/spool/nullmailer/queue" -type f | wc -l; }

# nullmailer_start ROOT: starts nullmailer-send as user mail (the clock starts here).
nullmailer_start() {
    chroot --userspec=mail:mail "$1" sh -c 'cd /var/spool/nullmailer && exec nullmailer-send' > "$1/../nullmailer-send.log" 2>&1 &
    nullmailer_pid=$!
}

nullmailer_stop() { [[ -n ${nullmailer_pid:-} ]] && kill "$nullmailer_pid" 2>/dev/null; wait "${nullmailer_pid:-}" 2>/dev/null || true; nullmailer_pid=; }

nullmailer_sent_count() { grep -c 'Sent file' "$1/../nullmailer-send.log" 2>/dev/null || echo 0; }
