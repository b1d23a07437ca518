#!/bin/bash
# Builds and installs outbox: the daemon outboxd, the CLI outbox, its systemd unit, users, directories and a
# default configuration. Run as root from anywhere; uninstall with scripts/uninstall.sh.
#
#   scripts/install.sh [--bin-dir DIR] [--sendmail]
#
#   --bin-dir DIR  install DIR/outboxd and DIR/outbox instead of building (e.g. a build made elsewhere with
#                  `swift build -c release --static-swift-stdlib`)
#   --sendmail     also link /usr/sbin/sendmail to outbox, only if nothing is there yet
#
# Environment: PREFIX (default /usr/local) for the binaries; DESTDIR to stage into a directory instead of the
# live system (then nothing is run: no users, directories, ownership or systemctl).
#
# Local install, so configuration-like files go under /etc (the unit in /etc/systemd/system, the sysusers and
# tmpfiles snippets in /etc/sysusers.d and /etc/tmpfiles.d); /usr/lib is left to Debian packages.
set -euo pipefail

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=""
sendmail=0

usage() { sed -n '5,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 64; }
say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }

while (($#)); do
    case $1 in
    --bin-dir) [[ $# -ge 2 ]] || usage; bin_dir=$2; shift 2 ;;
    --sendmail) sendmail=1; shift ;;
    -h | --help) usage ;;
    *) usage ;;
    esac
done

[[ -n $DESTDIR || $EUID -eq 0 ]] || die "run as root (or set DESTDIR to stage)"
live=$([[ -z $DESTDIR ]] && echo 1 || echo 0)
systemd_running=$([[ $live == 1 && -d /run/systemd/system ]] && echo 1 || echo 0)   # sd_booted()

# MARK: binaries

if [[ -z $bin_dir ]]; then
    command -v swift >/dev/null || die "swift not found; build elsewhere and pass --bin-dir"
    say "building (release, static Swift stdlib)"
    (cd "$repo" && swift build -c release --static-swift-stdlib --product outboxd &&
        swift build -c release --static-swift-stdlib --product outbox)
    bin_dir=$(cd "$repo" && swift build -c release --static-swift-stdlib --show-bin-path)
fi
for exe in outboxd outbox; do
    [[ -f $bin_dir/$exe && -x $bin_dir/$exe ]] || die "$bin_dir/$exe: no such executable"
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -d -m 0755 "$DESTDIR$PREFIX/bin"
for exe in outboxd outbox; do
    cp "$bin_dir/$exe" "$stage/$exe"
    # Strip ELF files only (keeps ~1/3 of the size off); anything else is installed as is. A target
    # without binutils (e.g. a minimal Debian receiving --bin-dir) gets the binary unstripped.
    if [[ $(head -c 4 "$stage/$exe" | od -An -c | tr -d ' ') == 177ELF ]]; then
        if command -v strip >/dev/null; then strip "$stage/$exe"; else say "strip not found (binutils): $exe installed unstripped"; fi
    fi
    # Replace, not overwrite in place: a running outboxd keeps its old inode.
    install -m 0755 "$stage/$exe" "$DESTDIR$PREFIX/bin/.$exe.new"
    mv -f "$DESTDIR$PREFIX/bin/.$exe.new" "$DESTDIR$PREFIX/bin/$exe"
    say "installed $PREFIX/bin/$exe"
done

# MARK: systemd files

install -d -m 0755 "$DESTDIR/etc/systemd/system" "$DESTDIR/etc/sysusers.d" "$DESTDIR/etc/tmpfiles.d"
sed "s#/usr/local/bin/outboxd#$PREFIX/bin/outboxd#" "$repo/systemd/outboxd.service" >"$stage/outboxd.service"
install -m 0644 "$stage/outboxd.service" "$DESTDIR/etc/systemd/system/outboxd.service"
install -m 0644 "$repo/systemd/outboxd.socket" "$DESTDIR/etc/systemd/system/outboxd.socket"
install -m 0644 "$repo/systemd/outbox.sysusers.conf" "$DESTDIR/etc/sysusers.d/outbox.conf"
install -m 0644 "$repo/systemd/outbox.tmpfiles.conf" "$DESTDIR/etc/tmpfiles.d/outbox.conf"
say "installed /etc/systemd/system/outboxd.service, outboxd.socket, /etc/sysusers.d/outbox.conf, /etc/tmpfiles.d/outbox.conf"

if [[ $live == 1 ]]; then
    if command -v systemd-sysusers >/dev/null; then
        systemd-sysusers /etc/sysusers.d/outbox.conf
    else
        say "warning: systemd-sysusers not found; create user outbox and groups outbox, outbox-admin yourself"
    fi
    if command -v systemd-tmpfiles >/dev/null; then
        systemd-tmpfiles --create /etc/tmpfiles.d/outbox.conf
    else
        say "warning: systemd-tmpfiles not found; create the directories in /etc/tmpfiles.d/outbox.conf yourself"
    fi
fi

# MARK: configuration

# Producers (group outbox) may read the configuration, so the password must not be in it: outboxd refuses to
# start when smtp.password is set in a file its group or others can read. It goes in /etc/outbox/smtp.password
# (0600 root), loaded as a credential (see outboxd.service).
if [[ $live == 1 ]]; then
    install -d -m 0750 -o root -g outbox /etc/outbox
else
    install -d -m 0750 "$DESTDIR/etc/outbox"
fi
if [[ -e $DESTDIR/etc/outbox/outbox.yaml ]]; then
    say "kept existing /etc/outbox/outbox.yaml"
elif [[ ! -f $repo/etc/outbox/outbox.yaml ]]; then
    say "warning: $repo/etc/outbox/outbox.yaml missing; no configuration installed"
elif [[ $live == 1 ]]; then
    install -m 0640 -o root -g outbox "$repo/etc/outbox/outbox.yaml" /etc/outbox/outbox.yaml
    say "installed /etc/outbox/outbox.yaml"
else
    install -m 0640 "$repo/etc/outbox/outbox.yaml" "$DESTDIR/etc/outbox/outbox.yaml"
    say "installed /etc/outbox/outbox.yaml (chgrp outbox it on the target)"
fi
# The unit loads the optional credential outbox.smtp.password from /etc/credstore; point that name at
# /etc/outbox/smtp.password (a dangling link counts as absent) unless the admin put something there.
install -d -m 0700 "$DESTDIR/etc/credstore"
if [[ ! -e $DESTDIR/etc/credstore/outbox.smtp.password && ! -L $DESTDIR/etc/credstore/outbox.smtp.password ]]; then
    ln -s /etc/outbox/smtp.password "$DESTDIR/etc/credstore/outbox.smtp.password"
fi
# The same for smtp.oauth2's secrets.
for name in smtp.oauth2.client_secret smtp.oauth2.refresh_token; do
    if [[ ! -e $DESTDIR/etc/credstore/outbox.$name && ! -L $DESTDIR/etc/credstore/outbox.$name ]]; then
        ln -s "/etc/outbox/$name" "$DESTDIR/etc/credstore/outbox.$name"
    fi
done

# MARK: sendmail

if [[ $sendmail == 1 ]]; then
    if [[ -e $DESTDIR/usr/sbin/sendmail || -L $DESTDIR/usr/sbin/sendmail ]]; then
        say "warning: /usr/sbin/sendmail exists ($(readlink -f "$DESTDIR/usr/sbin/sendmail")); left alone"
    else
        install -d -m 0755 "$DESTDIR/usr/sbin"
        ln -s "$PREFIX/bin/outbox" "$DESTDIR/usr/sbin/sendmail"
        say "linked /usr/sbin/sendmail -> $PREFIX/bin/outbox"
    fi
fi

# MARK: the SMTP listener socket (loopback port 25)

# Something else on loopback port 25 (a Postfix, an Exim, an earlier outboxd.socket is fine): leave it.
port25_owner() {
    if ! command -v ss >/dev/null; then   # no iproute2: a listening socket on port 25 (0x19) in /proc/net/tcp*
        awk '$2 ~ /:0019$/ && $4 == "0A" { print "a listening socket on port 25"; exit }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
        return
    fi
    ss -ltnpH '( sport = :25 )' 2>/dev/null | grep -E '(127\.0\.0\.1|\[::1\]|\*|0\.0\.0\.0|\[::\]):25 ' | grep -v 'systemd' | head -n 1
}
if [[ $systemd_running == 1 ]]; then
    systemctl daemon-reload
    owner=$(systemctl is-active --quiet outboxd.socket || port25_owner)
    if systemctl is-active --quiet outboxd.socket; then
        say "outboxd.socket is already listening on loopback port 25"
    elif [[ -n $owner ]]; then
        say "not enabling outboxd.socket: something already listens on port 25: $owner"
        say "  to let XNAT queue through outbox: stop and disable that server (e.g. systemctl disable --now postfix),"
        say "  then: systemctl enable --now outboxd.socket; or set listen.addresses to another port in"
        say "  /etc/outbox/outbox.yaml and use that port in XNAT's Mail Server Settings"
    elif systemctl enable --now outboxd.socket >/dev/null 2>&1; then
        say "enabled outboxd.socket: outbox takes SMTP on 127.0.0.1:25 and [::1]:25 (XNAT's default Mail Server Settings)"
    else
        say "warning: could not start outboxd.socket; see: systemctl status outboxd.socket"
    fi
    say "done; start with: systemctl enable --now outboxd.service"
else
    say "done (systemd is not running here: no daemon-reload; enable outboxd.socket on the target when nothing else listens on port 25)"
fi
