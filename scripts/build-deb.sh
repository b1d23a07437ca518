#!/usr/bin/env bash
# Builds the Debian package outbox_VERSION_ARCH.deb: the static-stdlib release binaries (stripped),
# /usr/sbin/sendmail, /usr/lib/sendmail, /usr/bin/mailq and /usr/bin/newaliases as links to outbox,
# the systemd unit (and outboxd.socket when systemd/ has one), sysusers and tmpfiles snippets
# under /usr/lib, /etc/outbox/outbox.yaml as a conffile, man pages, and maintainer scripts that
# enable and start outboxd. Only Debian-packaged tools (dpkg-dev, binutils, gzip; lintian to check).
#
#   scripts/build-deb.sh [--bin-dir DIR] [--output DIR] [--version-suffix SUFFIX] [--lintian]
#
#   --bin-dir DIR          package DIR/outboxd and DIR/outbox instead of building them
#   --output DIR           where the .deb goes (default: the current directory)
#   --version-suffix S     append S to the package version (e.g. +rebuild1, for upgrade tests)
#   --lintian              run lintian on the result (errors fail the build)
#
# The version is OutboxVersion.current in Sources/OutboxCore/OutboxVersion.swift: the one place.
# DEB_MAINTAINER (environment) sets the Maintainer field (default: a placeholder at example.org).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir="" output=$PWD suffix="" run_lintian=0
usage() { sed -n '8,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 64; }
say() { printf 'build-deb: %s\n' "$*"; }
die() { printf 'build-deb: %s\n' "$*" >&2; exit 1; }
while (($#)); do
    case $1 in
    --bin-dir) [[ $# -ge 2 ]] || usage; bin_dir=$2; shift 2 ;;
    --output) [[ $# -ge 2 ]] || usage; output=$2; shift 2 ;;
    --version-suffix) [[ $# -ge 2 ]] || usage; suffix=$2; shift 2 ;;
    --lintian) run_lintian=1; shift ;;
    *) usage ;;
    esac
done
for tool in dpkg-deb dpkg-shlibdeps strip gzip; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install dpkg-dev binutils gzip)"
done

version=$(sed -n 's/^ *public static let current = "\(.*\)".*/\1/p' "$repo/Sources/OutboxCore/OutboxVersion.swift")
[[ -n $version ]] || die "no version in Sources/OutboxCore/OutboxVersion.swift"
version+=$suffix
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-outbox maintainers <outbox@example.org>}

# MARK: binaries
if [[ -z $bin_dir ]]; then
    say "building outboxd and outbox (release, static Swift stdlib)"
    (cd "$repo" && swift build -c release --static-swift-stdlib --product outboxd &&
        swift build -c release --static-swift-stdlib --product outbox)
    bin_dir=$(cd "$repo" && swift build -c release --static-swift-stdlib --show-bin-path)
fi
for exe in outboxd outbox; do
    [[ -x $bin_dir/$exe ]] || die "$bin_dir/$exe: no such executable"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
install -d -m 0755 "$root/DEBIAN" "$root/usr/sbin" "$root/usr/bin" "$root/usr/lib" \
    "$root/usr/lib/systemd/system" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" \
    "$root/usr/share/doc/outbox" "$root/usr/share/man/man1" "$root/usr/share/man/man5" "$root/usr/share/man/man8" \
    "$root/usr/share/lintian/overrides" "$root/etc/outbox"

# Stripped as dh_strip does: no debug sections, no .comment/.note.
install -m 0755 "$bin_dir/outboxd" "$root/usr/sbin/outboxd"
install -m 0755 "$bin_dir/outbox" "$root/usr/bin/outbox"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/sbin/outboxd" "$root/usr/bin/outbox"
ln -s ../bin/outbox "$root/usr/sbin/sendmail"
ln -s ../sbin/sendmail "$root/usr/lib/sendmail"
ln -s outbox "$root/usr/bin/mailq"
ln -s outbox "$root/usr/bin/newaliases"

# MARK: systemd, configuration
units=outboxd.service
sed 's#^ExecStart=/usr/local/bin/outboxd#ExecStart=/usr/sbin/outboxd#; s#Installed by scripts/install.sh to /etc/systemd/system#Installed by the outbox package#' \
    "$repo/systemd/outboxd.service" >"$work/outboxd.service"
grep -q '^ExecStart=/usr/sbin/outboxd ' "$work/outboxd.service" || die "outboxd.service: ExecStart not rewritten"
install -m 0644 "$work/outboxd.service" "$root/usr/lib/systemd/system/outboxd.service"
if [[ -f $repo/systemd/outboxd.socket ]]; then  # the SMTP listener's socket unit, once it exists
    install -m 0644 "$repo/systemd/outboxd.socket" "$root/usr/lib/systemd/system/outboxd.socket"
    units+=" outboxd.socket"
fi
install -m 0644 "$repo/systemd/outbox.sysusers.conf" "$root/usr/lib/sysusers.d/outbox.conf"
install -m 0644 "$repo/systemd/outbox.tmpfiles.conf" "$root/usr/lib/tmpfiles.d/outbox.conf"
install -m 0644 "$repo/etc/outbox/outbox.yaml" "$root/etc/outbox/outbox.yaml"
echo /etc/outbox/outbox.yaml >"$root/DEBIAN/conffiles"

# MARK: documentation
install -m 0644 "$repo/packaging/deb/copyright" "$root/usr/share/doc/outbox/copyright"
install -m 0644 "$repo/packaging/deb/lintian-overrides" "$root/usr/share/lintian/overrides/outbox"
{
    printf 'outbox (%s) unstable; urgency=medium\n\n' "$version"
    printf '  * Built from %s.\n\n' "$(git -C "$repo" describe --always --dirty 2>/dev/null || echo 'a source tree')"
    # A reproducible date: the last commit's.
    printf ' -- %s  %s\n' "$maintainer" \
        "$(date -R -d "@$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)")"
} | gzip -9n >"$root/usr/share/doc/outbox/changelog.gz"
bash "$repo/scripts/man-pages.sh" "$bin_dir" "$work/man"
for page in "$work"/man/*.[158]; do
    section=${page##*.}
    gzip -9n <"$page" >"$root/usr/share/man/man$section/$(basename "$page").gz"
done
ln -s ../man1/outbox.1.gz "$root/usr/share/man/man8/sendmail.8.gz"
ln -s outbox.1.gz "$root/usr/share/man/man1/mailq.1.gz"
ln -s outbox.1.gz "$root/usr/share/man/man1/newaliases.1.gz"
chmod -R u=rwX,go=rX "$root/usr" "$root/etc"

# MARK: control
for script in postinst prerm postrm; do
    sed "s/@UNITS@/$units/" "$repo/packaging/deb/$script" >"$root/DEBIAN/$script"
    chmod 0755 "$root/DEBIAN/$script"
done
# Depends: what the binaries link, with the versions of this build (as dh_shlibdeps computes them).
mkdir -p "$work/src/debian"
printf 'Source: outbox\n\nPackage: outbox\nArchitecture: any\n' >"$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O "$root/usr/sbin/outboxd" "$root/usr/bin/outbox" | sed -n 's/^shlibs:Depends=//p')
[[ $depends == *libcurl* && $depends == *libsqlite3* && $depends == *libsystemd* ]] || die "unexpected dependencies: $depends"
installed_size=$(du -k -s --apparent-size --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: outbox
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends, systemd
Provides: mail-transport-agent
Conflicts: mail-transport-agent
Replaces: mail-transport-agent
Section: mail
Priority: optional
Description: durable outbound mail queue delivering through an SMTP relay
 outbox replaces the system MTA on hosts that only send mail out, like
 nullmailer or dma: /usr/sbin/sendmail and a spool directory hand messages
 to outboxd, which keeps them in a SQLite queue (WAL, synchronous=FULL) and
 delivers them to the relay set in /etc/outbox/outbox.yaml (XNAT's "Mail
 Server Settings") over SMTP with STARTTLS or SMTPS, AUTH, and retries with
 backoff.
 .
 No mail is lost across crashes or restarts, and problems with the relay
 settings are reported without failing users' mail. The outbox command
 lists, holds, releases, requeues and purges messages; mailq prints the
 queue as Postfix does. outboxd reports to systemd (readiness, status,
 watchdog) and can serve Prometheus metrics.
CONTROL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

mkdir -p "$output"
deb="$output/outbox_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
say "built $deb ($(du -h "$deb" | cut -f1); Depends: $depends)"
if ((run_lintian)); then
    command -v lintian >/dev/null || die "lintian not found (apt-get install lintian)"
    lintian --fail-on error "$deb"
fi
