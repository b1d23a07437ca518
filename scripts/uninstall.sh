#!/bin/bash
# Removes what scripts/install.sh installed: the binaries, the unit, the sysusers/tmpfiles snippets and the
# links it made. Keeps the data and the configuration: /var/lib/outbox (queue database), /var/spool/outbox
# (mail not yet taken in), /etc/outbox, and the outbox users and groups that own them.
#
#   scripts/uninstall.sh          (PREFIX and DESTDIR as for install.sh)
set -euo pipefail

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
say() { printf 'uninstall: %s\n' "$*"; }

[[ -n $DESTDIR || $EUID -eq 0 ]] || { say "run as root (or set DESTDIR)" >&2; exit 1; }
systemd_running=$([[ -z $DESTDIR && -d /run/systemd/system ]] && echo 1 || echo 0)

if [[ $systemd_running == 1 ]] && systemctl cat outboxd.service >/dev/null 2>&1; then
    systemctl disable --now outboxd.service 2>&1 | sed 's/^/uninstall: /' || true
fi

# Links only if they are ours.
for link in /usr/sbin/sendmail:"$PREFIX/bin/outbox" /etc/credstore/outbox.smtp.password:/etc/outbox/smtp.password \
    /etc/credstore/outbox.smtp.oauth2.client_secret:/etc/outbox/smtp.oauth2.client_secret \
    /etc/credstore/outbox.smtp.oauth2.refresh_token:/etc/outbox/smtp.oauth2.refresh_token; do
    path=$DESTDIR${link%%:*}
    if [[ -L $path && $(readlink "$path") == "${link#*:}" ]]; then
        rm -f "$path"
        say "removed ${link%%:*}"
    fi
done

for file in "$PREFIX/bin/outboxd" "$PREFIX/bin/outbox" /etc/systemd/system/outboxd.service \
    /etc/sysusers.d/outbox.conf /etc/tmpfiles.d/outbox.conf; do
    if [[ -e $DESTDIR$file ]]; then
        rm -f "$DESTDIR$file"
        say "removed $file"
    fi
done

if [[ $systemd_running == 1 ]]; then
    systemctl daemon-reload
    systemctl reset-failed outboxd.service 2>/dev/null || true
fi
say "kept /var/lib/outbox, /var/spool/outbox, /etc/outbox and the outbox users and groups"
