# bench/postfix.sh — Postfix 3.7 as a null client relaying to the sink, in a private instance
# (its own config, queue and log under $1; the system's Postfix, if any, is not touched).
# Sourced by bench/run.sh.

# postfix_setup DIR SINK_PORT INJECT_PORT
postfix_setup() {
    local dir=$1 sink=$2 inject=$3
    rm -rf "$dir"; mkdir -p "$dir/etc" "$dir/spool" "$dir/data"
    cp /etc/postfix/dynamicmaps.cf "$dir/etc/"
    # master.cf: no chroot (the private queue has no chroot files); the SMTP server listens on
    # INJECT_PORT only, for filling the queue.
    awk -v inject="$inject" '
        /^smtp +inet/ { print "127.0.0.1:" inject " inet n - n - - smtpd"; next }
        /^[a-z0-9]/ && $5 == "y" { $5 = "n" }
        { print }' /etc/postfix/master.cf > "$dir/etc/master.cf"
    cat > "$dir/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
myhostname = bench.localdomain
mydestination =
relayhost = [127.0.0.1]:$sink
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
smtp_tls_security_level = none
smtpd_tls_security_level = none
maillog_file_prefixes = $dir
maillog_file = $dir/maillog
# Hold outbound mail until the clock starts.
defer_transports = smtp
CF
    chown postfix "$dir/data"
    postfix -c "$dir/etc" check
    postfix -c "$dir/etc" start >/dev/null 2>&1
    wait_until 20 "(exec 3<>/dev/tcp/127.0.0.1/$inject) 2>/dev/null"
}

# postfix_queued DIR: messages in the queue (all queue directories).
postfix_queued() {
    find "$1/spool/incoming" "$1/spool/active" "$1/spool/deferred" "$1/spool/hold" "$1/spool/maildrop" -type f 2>/dev/null | wc -l
}

# postfix_release DIR: lets the queue go to the sink (the clock starts here).
postfix_release() {
    postconf -c "$1/etc" -e 'defer_transports ='
    postfix -c "$1/etc" reload >/dev/null 2>&1
    postqueue -c "$1/etc" -f
}

postfix_sent_count() { grep -c 'status=sent' "$1/maillog" 2>/dev/null || echo 0; }

postfix_main_pid() { head -n 1 "$1/spool/pid/master.pid" 2>/dev/null | tr -d ' '; }

postfix_stop() { postfix -c "$1/etc" stop >/dev/null 2>&1 || true; }
