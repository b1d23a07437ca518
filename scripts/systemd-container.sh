#!/bin/bash
# Boot a real systemd (Debian 12) in a throwaway systemd-nspawn container, on a host whose PID 1 is not
# systemd. Facts this relies on: shared/notes/systemd-in-a-container.md.
#
# As a library:   source scripts/systemd-container.sh
#                 container_start            # extract a fresh rootfs, boot it, install the teardown trap
#                 container_wait_running     # bounded; "running" or "degraded"
#                 container_exec systemctl status outboxd
#                 container_journal_wait outboxd.service '^Started' 10
#                 container_stop             # also runs from the EXIT trap
# As a driver:    scripts/systemd-container.sh build-rootfs | selftest | unit-check [--bin-dir DIR] | leftovers
#
# Needs root and the Debian packages systemd-container and debootstrap. The rootfs is built once with
# debootstrap from the mirror apt already uses and cached as a tarball keyed by its package list; each run
# extracts it into a fresh directory that teardown removes. The container shares the host's network, so a
# server on the host's 127.0.0.1 is reachable from inside.
#
# Settings (environment):
#   OUTBOX_CI_CACHE_DIR      where the rootfs tarball lives (default /var/cache/outbox-ci)
#   OUTBOX_CI_MIRROR         Debian mirror for debootstrap (default: the first bookworm "deb" source apt uses)
#   OUTBOX_CI_EXTRA_PACKAGES extra packages for the rootfs, space-separated (part of the cache key)
#   OUTBOX_CI_RUN_DIR        parent of the per-run directories (default /var/tmp)
#   CONTAINER_BIND_RO        space-separated HOST[:CONTAINER] paths bind-mounted read-only into the container
#   CONTAINER_BOOT_TIMEOUT   seconds container_wait_running waits (default 90)
#   CONTAINER_EXEC_TIMEOUT   seconds one container_exec may take (default 300)
#   CONTAINER_STOP_TIMEOUT   seconds to wait for a clean poweroff before killing (default 30)
#   CONTAINER_KEEP_LOG       file to copy the container's console output to at teardown (default: none)

# ---------------------------------------------------------------------------------------------------------
# MARK: Settings

OUTBOX_CI_SUITE=bookworm
OUTBOX_CI_CACHE_DIR=${OUTBOX_CI_CACHE_DIR:-/var/cache/outbox-ci}
OUTBOX_CI_ROOTFS_TAR=${OUTBOX_CI_ROOTFS_TAR:-$OUTBOX_CI_CACHE_DIR/$OUTBOX_CI_SUITE-rootfs.tar}
OUTBOX_CI_RUN_DIR=${OUTBOX_CI_RUN_DIR:-/var/tmp}
# procps: ExecReload=/bin/kill. libsqlite3-0, libcurl4, libsystemd0: what outboxd links (static Swift stdlib).
OUTBOX_CI_PACKAGES="systemd,systemd-sysv,dbus,procps,libsqlite3-0,libcurl4,libsystemd0,ca-certificates"
if [[ -n ${OUTBOX_CI_EXTRA_PACKAGES:-} ]]; then
    OUTBOX_CI_PACKAGES+=",$(tr -s ' ' ',' <<<"$OUTBOX_CI_EXTRA_PACKAGES")"
fi
# Bump when the image customisation below changes, so cached tarballs are rebuilt.
OUTBOX_CI_IMAGE_REVISION=2

CONTAINER_BOOT_TIMEOUT=${CONTAINER_BOOT_TIMEOUT:-90}
CONTAINER_EXEC_TIMEOUT=${CONTAINER_EXEC_TIMEOUT:-300}
CONTAINER_STOP_TIMEOUT=${CONTAINER_STOP_TIMEOUT:-30}

# State of the one container this shell manages.
CONTAINER_RUN=""          # per-run directory: root/, console.log, nspawn.pid
CONTAINER_ROOT=""         # the container's / as seen from the host
CONTAINER_NSPAWN_PID=""   # systemd-nspawn (the wrapper exec'd into it)
CONTAINER_PID1=""         # the container's systemd, as a host PID
CONTAINER_CGROUPS=()      # private cgroups created for this run (host paths)

_ct_log() { printf 'systemd-container: %s\n' "$*" >&2; }
_ct_die() { _ct_log "$*"; exit 1; }

# ---------------------------------------------------------------------------------------------------------
# MARK: Rootfs cache

# Prints the URI of the first enabled "deb" source for the bare suite (not -updates/-security) in apt's
# configuration, one-line (.list) or deb822 (.sources) format.
container_apt_mirror() {
    if [[ -n ${OUTBOX_CI_MIRROR:-} ]]; then
        echo "$OUTBOX_CI_MIRROR"
        return
    fi
    local files=() f
    [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] && files+=("$f")
    done
    local uri
    uri=$(awk -v suite="$OUTBOX_CI_SUITE" '
        function flush() {     # end of a deb822 stanza
            if (types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " suite " ") && uris != "") {
                split(uris, u, " "); print u[1]; exit
            }
            types = suites = uris = ""; enabled = "yes"
        }
        FNR == 1 { flush(); deb822 = (FILENAME ~ /\.sources$/) }
        deb822 && /^[ \t]*$/ { flush(); next }
        deb822 && /^[ \t]*#/ { next }
        deb822 {
            key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
            if (key == "types") types = $0; else if (key == "suites") suites = $0
            else if (key == "uris") uris = $0; else if (key == "enabled") enabled = tolower($0)
            next
        }
        /^[ \t]*deb[ \t]/ {   # deb [opts] URI SUITE COMPONENTS...
            line = $0; sub(/^[ \t]*deb[ \t]+/, "", line); sub(/^\[[^]]*\][ \t]*/, "", line)
            split(line, w, /[ \t]+/)
            if (w[2] == suite) { print w[1]; exit }
        }
        END { flush() }
    ' "${files[@]}" 2>/dev/null | head -n 1)
    [[ -n $uri ]] || _ct_die "no '$OUTBOX_CI_SUITE' deb source found in apt's configuration; set OUTBOX_CI_MIRROR"
    echo "$uri"
}

_ct_cache_key() {
    printf 'suite=%s variant=minbase packages=%s revision=%s\n' \
        "$OUTBOX_CI_SUITE" "$OUTBOX_CI_PACKAGES" "$OUTBOX_CI_IMAGE_REVISION"
}

# Builds the rootfs tarball unless one with the same key is cached. Safe to call concurrently (flock).
container_build_rootfs() {
    command -v debootstrap >/dev/null || _ct_die "debootstrap is missing: apt-get install debootstrap"
    mkdir -p "$OUTBOX_CI_CACHE_DIR"
    local key
    key=$(_ct_cache_key)
    (
        flock -w 1200 9 || _ct_die "timed out waiting for another rootfs build ($OUTBOX_CI_ROOTFS_TAR.lock)"
        if [[ -f $OUTBOX_CI_ROOTFS_TAR && "$(cat "$OUTBOX_CI_ROOTFS_TAR.key" 2>/dev/null)" == "$key" ]]; then
            exit 0
        fi
        local mirror build started
        mirror=$(container_apt_mirror) || exit 1
        build=$(mktemp -d "$OUTBOX_CI_CACHE_DIR/build.XXXXXX")
        trap 'rm -rf --one-file-system "$build"' EXIT
        _ct_log "debootstrap $OUTBOX_CI_SUITE from $mirror (packages: $OUTBOX_CI_PACKAGES)"
        started=$SECONDS
        if ! timeout 1200 debootstrap --variant=minbase --include="$OUTBOX_CI_PACKAGES" \
            "$OUTBOX_CI_SUITE" "$build/root" "$mirror" >"$build/debootstrap.log" 2>&1; then
            tail -n 30 "$build/debootstrap.log" >&2
            [[ -f $build/root/debootstrap/debootstrap.log ]] && tail -n 30 "$build/root/debootstrap/debootstrap.log" >&2
            _ct_die "debootstrap failed"
        fi
        _ct_log "debootstrap took $((SECONDS - started)) s"
        _ct_customise_rootfs "$build/root"
        tar --numeric-owner --xattrs --xattrs-include='*' --acls -C "$build/root" -cf "$build/rootfs.tar" .
        mv -f "$build/rootfs.tar" "$OUTBOX_CI_ROOTFS_TAR"
        echo "$key" >"$OUTBOX_CI_ROOTFS_TAR.key"
        _ct_log "cached $OUTBOX_CI_ROOTFS_TAR ($(du -h "$OUTBOX_CI_ROOTFS_TAR" | cut -f1))"
    ) 9>"$OUTBOX_CI_ROOTFS_TAR.lock"
}

# Image tweaks, applied once before caching.
_ct_customise_rootfs() {
    local root=$1
    echo "outbox-ci" >"$root/etc/hostname"
    # debootstrap writes no /etc/hosts: without it "localhost" would go to the host's DNS server.
    printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
    # Empty machine-id: each boot gets a fresh transient one (nspawn passes the container UUID).
    : >"$root/etc/machine-id"
    rm -f "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_* "$root"/var/cache/apt/*.bin
    # Nothing here can work without a host systemd or real hardware; masking them lets boot reach "running".
    local unit
    for unit in systemd-networkd-wait-online.service getty.target console-getty.service \
        systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
        e2scrub_reap.service fstrim.timer; do
        ln -sf /dev/null "$root/etc/systemd/system/$unit"
    done
}

# ---------------------------------------------------------------------------------------------------------
# MARK: Private cgroups

# Prints the host cgroup paths to create for run NAME: the v2 hierarchy, plus name=systemd on a hybrid host.
_ct_cgroup_paths() {
    local name=$1
    if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then                 # pure v2
        echo "/sys/fs/cgroup/$name"
    elif [[ -f /sys/fs/cgroup/unified/cgroup.controllers ]]; then       # hybrid
        echo "/sys/fs/cgroup/unified/$name"
        [[ -d /sys/fs/cgroup/systemd ]] && echo "/sys/fs/cgroup/systemd/$name"
    else
        _ct_die "no cgroup v2 hierarchy on this host; SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 needs one"
    fi
}

# Kills every process left in a cgroup subtree, then removes it depth-first. Bounded.
_ct_cgroup_remove() {
    local top=$1 deadline=$((SECONDS + 10)) pids
    [[ -d $top ]] || return 0
    while :; do
        pids=$(find "$top" -name cgroup.procs -exec cat {} + 2>/dev/null)
        [[ -z $pids ]] && break
        ((SECONDS < deadline)) || { _ct_log "processes will not leave $top: $pids"; return 1; }
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null
        sleep 0.2
    done
    find "$top" -depth -type d -exec rmdir {} + 2>/dev/null
    [[ ! -d $top ]] || { _ct_log "could not remove cgroup $top"; return 1; }
}

# ---------------------------------------------------------------------------------------------------------
# MARK: Lifecycle

# Extracts a fresh rootfs and boots it in the background. Installs an EXIT trap that calls container_stop
# (and turns INT/TERM into exits), so teardown happens on any failure; callers that need their own EXIT trap
# should call container_stop from it.
container_start() {
    [[ $EUID -eq 0 ]] || _ct_die "must run as root"
    command -v systemd-nspawn >/dev/null || _ct_die "systemd-nspawn is missing: apt-get install systemd-container"
    [[ -z $CONTAINER_RUN ]] || _ct_die "a container is already running ($CONTAINER_RUN)"
    container_build_rootfs || _ct_die "no rootfs"

    CONTAINER_RUN=$(mktemp -d "$OUTBOX_CI_RUN_DIR/outbox-ct.XXXXXX")
    trap 'container_stop' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    CONTAINER_ROOT=$CONTAINER_RUN/root
    mkdir "$CONTAINER_ROOT"
    local t0=$EPOCHREALTIME
    tar --numeric-owner --xattrs --xattrs-include='*' --acls -C "$CONTAINER_ROOT" -xpf "$OUTBOX_CI_ROOTFS_TAR"
    _ct_log "rootfs extracted in $(_ct_since "$t0") s"

    local name cg
    name=$(basename "$CONTAINER_RUN" | tr -c 'A-Za-z0-9\n' '-')
    mapfile -t CONTAINER_CGROUPS < <(_ct_cgroup_paths "$name")
    for cg in "${CONTAINER_CGROUPS[@]}"; do mkdir "$cg"; done

    local args=(-D "$CONTAINER_ROOT" -b --machine="$name"
        --register=no        # no host machined/dbus to register with
        --keep-unit          # no host systemd to create a scope unit
        --console=passive    # console output to our log, no tty needed
        --link-journal=no)
    local bind
    for bind in ${CONTAINER_BIND_RO:-}; do args+=(--bind-ro="$bind"); done

    # The wrapper moves itself into the private cgroups before exec'ing nspawn, so nspawn's supervisor/
    # and payload/ cgroups land there, not at the host's cgroup root.
    OUTBOX_CT_CGROUPS="${CONTAINER_CGROUPS[*]}" OUTBOX_CT_PIDFILE="$CONTAINER_RUN/nspawn.pid" \
        setsid bash -c '
            for cg in $OUTBOX_CT_CGROUPS; do echo $$ >"$cg/cgroup.procs" || exit 1; done
            echo $$ >"$OUTBOX_CT_PIDFILE"
            unset OUTBOX_CT_CGROUPS OUTBOX_CT_PIDFILE
            SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec systemd-nspawn "$@"
        ' container-boot "${args[@]}" </dev/null >"$CONTAINER_RUN/console.log" 2>&1 &

    local deadline=$((SECONDS + 20)) child
    while [[ ! -s $CONTAINER_RUN/nspawn.pid ]]; do
        ((SECONDS < deadline)) || _ct_die "nspawn wrapper did not start"
        sleep 0.05
    done
    CONTAINER_NSPAWN_PID=$(<"$CONTAINER_RUN/nspawn.pid")
    # The container's PID 1 is the descendant of nspawn whose PID inside its namespace is 1.
    while [[ -z $CONTAINER_PID1 ]]; do
        if ! _ct_alive "$CONTAINER_NSPAWN_PID"; then
            tail -n 30 "$CONTAINER_RUN/console.log" >&2
            _ct_die "systemd-nspawn exited during start"
        fi
        ((SECONDS < deadline)) || _ct_die "container PID 1 did not appear"
        for child in $(_ct_descendants "$CONTAINER_NSPAWN_PID"); do
            if [[ $(awk '/^NSpid:/ { print $NF }' "/proc/$child/status" 2>/dev/null) == 1 ]]; then
                CONTAINER_PID1=$child
                break
            fi
        done
        [[ -n $CONTAINER_PID1 ]] || sleep 0.05
    done
}

_ct_descendants() {
    local pid=$1 kid
    for kid in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
        echo "$kid"
        _ct_descendants "$kid"
    done
}

# True while PID exists and is not a zombie.
_ct_alive() {
    local state
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# Runs a command inside the container (all its namespaces), with a clean environment and a bounded time.
container_exec() {
    [[ -n $CONTAINER_PID1 ]] || _ct_die "no container is running"
    timeout --kill-after=5 "$CONTAINER_EXEC_TIMEOUT" nsenter -t "$CONTAINER_PID1" -a -- \
        /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# Waits (bounded by CONTAINER_BOOT_TIMEOUT) until boot has finished; prints the state. Returns 0 for
# "running", 1 for "degraded" (after listing the failed units) and 2 on timeout or early exit.
container_wait_running() {
    local deadline=$((SECONDS + CONTAINER_BOOT_TIMEOUT)) state
    while :; do
        _ct_alive "$CONTAINER_NSPAWN_PID" || { _ct_log "container exited during boot"; return 2; }
        state=$(CONTAINER_EXEC_TIMEOUT=5 container_exec systemctl is-system-running 2>/dev/null)
        case $state in
        running) echo "$state"; return 0 ;;
        degraded) echo "$state"; container_exec systemctl --failed --no-legend >&2; return 1 ;;
        esac
        if ((SECONDS >= deadline)); then
            _ct_log "still '${state:-unreachable}' after ${CONTAINER_BOOT_TIMEOUT}s"
            return 2
        fi
        sleep 0.2
    done
}

# Prints UNIT's journal (message text only) once COUNT lines (default 1) match PATTERN (grep -E), or after
# TIMEOUT seconds (default 10) and returns 1. Journal lines arrive a moment after the event, hence the polling.
container_journal_wait() {
    local unit=$1 pattern=$2 deadline=$((SECONDS + ${3:-10})) count=${4:-1} out
    while :; do
        out=$(container_exec journalctl -u "$unit" -o cat --no-pager 2>/dev/null)
        if (($(grep -Ec -- "$pattern" <<<"$out") >= count)); then printf '%s\n' "$out"; return 0; fi
        if ((SECONDS >= deadline)); then printf '%s\n' "$out"; return 1; fi
        sleep 0.2
    done
}

# Powers the container off (bounded), kills it if it hangs, removes its cgroups and its rootfs. Idempotent.
container_stop() {
    [[ -n $CONTAINER_RUN ]] || return 0
    local deadline
    if [[ -n $CONTAINER_NSPAWN_PID ]] && _ct_alive "$CONTAINER_NSPAWN_PID"; then
        if [[ -n $CONTAINER_PID1 ]]; then
            CONTAINER_EXEC_TIMEOUT=10 container_exec systemctl poweroff --no-block >/dev/null 2>&1
        fi
        deadline=$((SECONDS + CONTAINER_STOP_TIMEOUT))
        while _ct_alive "$CONTAINER_NSPAWN_PID" && ((SECONDS < deadline)); do sleep 0.1; done
        if _ct_alive "$CONTAINER_NSPAWN_PID"; then
            _ct_log "no clean poweroff within ${CONTAINER_STOP_TIMEOUT}s; killing nspawn $CONTAINER_NSPAWN_PID"
            kill -TERM "$CONTAINER_NSPAWN_PID" 2>/dev/null
            deadline=$((SECONDS + 5))
            while _ct_alive "$CONTAINER_NSPAWN_PID" && ((SECONDS < deadline)); do sleep 0.1; done
            kill -KILL "$CONTAINER_NSPAWN_PID" 2>/dev/null
        fi
    fi
    wait "$CONTAINER_NSPAWN_PID" 2>/dev/null   # reap it when it is our child
    local cg
    for cg in "${CONTAINER_CGROUPS[@]}"; do _ct_cgroup_remove "$cg"; done
    # nspawn mounts in its own namespace; anything below the run dir in ours would be a leak: detach it.
    local mnt
    for mnt in $(awk -v run="$CONTAINER_RUN" 'index($5, run) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
        _ct_log "unmounting leftover $mnt"
        umount -l "$mnt"
    done
    if [[ -n ${CONTAINER_KEEP_LOG:-} ]]; then cp -f "$CONTAINER_RUN/console.log" "$CONTAINER_KEEP_LOG"; fi
    rm -rf --one-file-system "$CONTAINER_RUN"
    CONTAINER_RUN="" CONTAINER_ROOT="" CONTAINER_NSPAWN_PID="" CONTAINER_PID1="" CONTAINER_CGROUPS=()
    trap - EXIT INT TERM
}

# Prints what a run could leave behind on the host: run dirs, private cgroups, mounts, nspawn processes.
container_leftovers() {
    local found=0 line
    while IFS= read -r line; do echo "leftover: $line"; found=1; done < <(
        ls -d "$OUTBOX_CI_RUN_DIR"/outbox-ct.* 2>/dev/null
        ls -d /sys/fs/cgroup/outbox-ct* /sys/fs/cgroup/*/outbox-ct* /sys/fs/cgroup/payload \
            /sys/fs/cgroup/supervisor /sys/fs/cgroup/*/payload /sys/fs/cgroup/*/supervisor 2>/dev/null
        grep -F outbox-ct /proc/self/mountinfo
        pgrep -a -x systemd-nspawn
    )
    ((found == 0)) && echo "no leftovers"
    return $found
}

# ---------------------------------------------------------------------------------------------------------
# MARK: Driver commands

# Starts a throwaway HTTP server on the host's 127.0.0.1 (port chosen by the kernel, stops itself after
# 300 s); sets CONTAINER_HOST_PORT and CONTAINER_HOST_SERVER_PID. Stop it with _ct_host_server_stop.
_ct_host_server_start() {
    local portfile deadline=$((SECONDS + 10))
    portfile=$(mktemp)
    timeout 300 python3 -c '
import http.server, sys
srv = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
open(sys.argv[1], "w").write(str(srv.server_address[1]))
srv.serve_forever()' "$portfile" >/dev/null 2>&1 &
    CONTAINER_HOST_SERVER_PID=$!
    while [[ ! -s $portfile ]] && ((SECONDS < deadline)); do sleep 0.1; done
    CONTAINER_HOST_PORT=$(<"$portfile")
    rm -f "$portfile"
}
_ct_host_server_stop() {
    kill "$CONTAINER_HOST_SERVER_PID" 2>/dev/null
    wait "$CONTAINER_HOST_SERVER_PID" 2>/dev/null
}

# Boots, checks a Type=notify unit and loopback reachability of the host, tears down; prints timings.
_ct_selftest() {
    local reply t_start=$EPOCHREALTIME
    container_start
    container_wait_running || { echo "FAIL: boot did not reach running"; return 1; }
    echo "boot (extract + nspawn + is-system-running=running): $(_ct_since "$t_start") s"

    cat >"$CONTAINER_ROOT/etc/systemd/system/notify-probe.service" <<'EOF'
[Service]
Type=notify
NotifyAccess=main
ExecStart=/bin/bash -c 'systemd-notify --ready --status="probe is ready"; exec sleep infinity'
EOF
    container_exec systemctl daemon-reload
    container_exec systemctl start notify-probe.service || { echo "FAIL: notify-probe did not start"; return 1; }
    reply=$(container_exec systemctl show -p ActiveState -p StatusText notify-probe.service | sort | tr '\n' ' ')
    echo "notify-probe: $reply"
    [[ $reply == "ActiveState=active StatusText=probe is ready " ]] || { echo "FAIL: unexpected unit state"; return 1; }

    _ct_host_server_start
    reply=$(container_exec bash -c \
        "exec 3<>/dev/tcp/127.0.0.1/$CONTAINER_HOST_PORT && printf 'HEAD / HTTP/1.0\r\n\r\n' >&3 && head -n 1 <&3")
    _ct_host_server_stop
    echo "host 127.0.0.1:$CONTAINER_HOST_PORT from inside: ${reply%$'\r'}"
    [[ $reply == HTTP/1.0\ 200* ]] || { echo "FAIL: host loopback not reachable"; return 1; }

    local t_stop=$EPOCHREALTIME
    container_stop
    echo "teardown (poweroff + cleanup): $(_ct_since "$t_stop") s"
    container_leftovers
}

_ct_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# A stand-in outboxd, written only into the throwaway rootfs: it probes what the sandbox must allow (and a few
# things it must deny), reports each line to the journal, then speaks the daemon's sd_notify protocol.
_ct_standin_outboxd() {
    cat <<'EOF'
#!/bin/bash
# Stand-in for outboxd inside the test container only; never installed anywhere else.
port=${1:?port}
fails=0
probe() {   # probe NAME EXPECT(allow|deny) COMMAND
    if (eval "$3") >/dev/null 2>&1; then got=allow; else got=deny; fi
    if [[ $got == "$2" ]]; then echo "probe ok: $1 ($got)"; else echo "probe FAIL: $1 (expected $2, got $got)"; fails=$((fails + 1)); fi
}
probe "read /etc/outbox/outbox.yaml"      allow 'cat /etc/outbox/outbox.yaml'
probe "read CA store"                     allow 'cat /etc/ssl/certs/ca-certificates.crt'
probe "read resolv.conf + nss lookup"     allow 'cat /etc/resolv.conf && getent ahosts localhost'
probe "write /var/lib/outbox"             allow 'echo x >/var/lib/outbox/probe && rm /var/lib/outbox/probe'
probe "write spool new/"                  allow 'echo x >/var/spool/outbox/new/probe && mv /var/spool/outbox/new/probe /var/spool/outbox/failed/probe && rm /var/spool/outbox/failed/probe'
probe "read a producer's spool file"      allow 'cat /var/spool/outbox/new/from-producer'
probe "TCP to host 127.0.0.1"             allow "exec 3<>/dev/tcp/127.0.0.1/$port"
probe "AF_UNIX socket (journal)"          allow 'echo "to the journal" | systemd-cat -t outboxd-probe'
if [[ -r ${CREDENTIALS_DIRECTORY:-/nonexistent}/smtp.password ]]; then echo "credential: present"; else echo "credential: absent"; fi
probe "new file modes (UMask=0007)"       allow 'touch /var/lib/outbox/m && [[ $(stat -c %a:%G /var/lib/outbox/m) == 660:outbox-admin ]]; r=$?; rm -f /var/lib/outbox/m; exit $r'
probe "write /etc"                        deny  'touch /etc/outbox/probe'
probe "write /usr"                        deny  'touch /usr/probe'
probe "read /root"                        deny  'ls /root'
probe "read /etc/shadow"                  deny  'cat /etc/shadow'
probe "AF_NETLINK socket"                 deny  'ip link'
probe "see other users' processes"        deny  'test -e /proc/1/cmdline'
systemd-notify --ready --status="stand-in ready, $fails probe failures"
trap 'systemd-notify RELOADING=1 "MONOTONIC_USEC=$(($(date +%s%N) / 1000))"; echo reloaded; systemd-notify --ready --status="reloaded"' HUP
trap 'systemd-notify STOPPING=1; echo stopping; exit 0' TERM
while :; do
    sleep 5 & wait $!
    systemd-notify WATCHDOG=1
done
EOF
}

# Installs with scripts/install.sh inside the container, runs systemd-analyze verify and security on the unit,
# then starts it (a sandbox probe with the stand-in unless --bin-dir gives real binaries), reloads and stops it.
_ct_unit_check() {
    local bin_dir="" repo status=0 out
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    while (($#)); do
        case $1 in
        --bin-dir) bin_dir=$(cd "$2" && pwd); shift 2 ;;
        *) _ct_die "unit-check: unknown argument $1" ;;
        esac
    done
    CONTAINER_BIND_RO="$repo:/src${bin_dir:+ $bin_dir:/bin-dir}" container_start
    container_wait_running >/dev/null || { echo "FAIL: boot did not reach running"; return 1; }
    local src_bin=/bin-dir
    if [[ -z $bin_dir ]]; then
        src_bin=/opt/stand-in
        mkdir -p "$CONTAINER_ROOT$src_bin"
        _ct_standin_outboxd >"$CONTAINER_ROOT$src_bin/outboxd"
        printf '#!/bin/sh\necho "outbox: stand-in" >&2\nexit 70\n' >"$CONTAINER_ROOT$src_bin/outbox"
        chmod 0755 "$CONTAINER_ROOT$src_bin"/*
    fi
    container_exec bash /src/scripts/install.sh --bin-dir "$src_bin" --sendmail || { echo "FAIL: install.sh"; return 1; }
    # The repo's config may not exist yet; the unit needs one to start.
    container_exec bash -c 'test -e /etc/outbox/outbox.yaml ||
        install -m 0640 -g outbox /dev/stdin /etc/outbox/outbox.yaml <<<"# placeholder written by unit-check"'

    out=$(container_exec systemd-analyze verify /etc/systemd/system/outboxd.service 2>&1)
    if [[ -n $out ]]; then echo "FAIL: systemd-analyze verify printed:"; echo "$out"; status=1
    else echo "systemd-analyze verify: no output"; fi
    container_exec systemd-analyze security --offline=true --threshold=20 /etc/systemd/system/outboxd.service \
        >"$CONTAINER_RUN/security.txt" 2>&1 || { echo "FAIL: security above threshold 20"; status=1; }
    grep -E '^(✗|→ Overall)' "$CONTAINER_RUN/security.txt" | sed 's/^/  /'
    grep -q 'Overall exposure' "$CONTAINER_RUN/security.txt" || { cat "$CONTAINER_RUN/security.txt"; status=1; }

    container_exec bash -c 'getent passwd outbox; getent group outbox outbox-admin;
        stat -c "%A %U:%G %n" /etc/outbox /etc/outbox/outbox.yaml /etc/credstore /var/lib/outbox /var/spool/outbox \
            /var/spool/outbox/* /usr/local/bin/outbox* /usr/sbin/sendmail' | sed 's/^/  /'

    # Start it. A producer (any user in group outbox) leaves a message the daemon must be able to read.
    _ct_host_server_start
    container_exec bash -c 'useradd -M -G outbox producer &&
        setpriv --reuid=producer --regid=producer --groups="$(getent group outbox | cut -d: -f3)" bash -c \
          "umask 027 && echo mail >/var/spool/outbox/tmp/from-producer && mv /var/spool/outbox/tmp/from-producer /var/spool/outbox/new/ &&
           ! ls /var/spool/outbox/new 2>/dev/null && ! ls /var/lib/outbox 2>/dev/null" && echo "  producer: wrote new/, cannot list new/, cannot enter /var/lib/outbox"' ||
        { echo "FAIL: producer permissions"; status=1; }
    if [[ -z $bin_dir ]]; then
        mkdir -p "$CONTAINER_ROOT/etc/systemd/system/outboxd.service.d"
        # The stand-in is a shell script: its systemd-notify children are not the main PID.
        printf '[Service]\nNotifyAccess=all\nExecStart=\nExecStart=/usr/local/bin/outboxd %s\n' "$CONTAINER_HOST_PORT" \
            >"$CONTAINER_ROOT/etc/systemd/system/outboxd.service.d/stand-in.conf"
    fi
    container_exec systemctl daemon-reload
    # Without a password (the credstore link dangles) the unit must still start.
    container_exec systemctl start outboxd.service || { echo "FAIL: start without a password"; status=1; }
    container_exec systemctl stop outboxd.service
    printf 'hunter2' >"$CONTAINER_ROOT/etc/outbox/smtp.password"
    chmod 0600 "$CONTAINER_ROOT/etc/outbox/smtp.password"
    container_exec systemctl start outboxd.service || { echo "FAIL: start with a password"; status=1; }
    container_exec systemctl show -p ActiveState -p SubState -p StatusText outboxd.service | sed 's/^/  /'
    container_exec systemctl reload outboxd.service || { echo "FAIL: reload"; status=1; }
    container_exec systemctl stop outboxd.service
    container_exec systemctl show -p Result -p ExecMainStatus outboxd.service | sed 's/^/  /'
    out=$(container_journal_wait outboxd.service '^Stopped outboxd.service' 10 2)
    sed 's/^/  journal: /' <<<"$out"
    if grep -q 'probe FAIL' <<<"$out"; then status=1; fi
    if [[ -z $bin_dir && $(grep '^credential:' <<<"$out" | tr '\n' ' ') != "credential: absent credential: present " ]]; then
        echo "FAIL: expected the credential absent on the first start, present on the second"; status=1
    fi
    [[ $(container_exec systemctl show -p Result --value outboxd.service) == success ]] || status=1
    _ct_host_server_stop

    # A second install keeps the configuration; uninstall keeps data, configuration and users.
    out=$(container_exec bash /src/scripts/install.sh --bin-dir "$src_bin" --sendmail)
    grep -q 'kept existing /etc/outbox/outbox.yaml' <<<"$out" ||
        { echo "FAIL: second install did not keep /etc/outbox/outbox.yaml"; status=1; }
    container_exec systemctl enable --now outboxd.service 2>/dev/null
    container_exec bash /src/scripts/uninstall.sh | sed 's/^/  /'
    out=$(container_exec bash -c 'ls -d /usr/local/bin/outbox* /etc/systemd/system/outboxd.service \
        /etc/sysusers.d/outbox.conf /etc/tmpfiles.d/outbox.conf /usr/sbin/sendmail \
        /etc/credstore/outbox.smtp.password /etc/credstore/outbox.smtp.oauth2.client_secret \
        /etc/credstore/outbox.smtp.oauth2.refresh_token 2>/dev/null; systemctl is-active outboxd.service')
    [[ $out == inactive ]] || { echo "FAIL: left after uninstall: $out"; status=1; }
    container_exec bash -c 'test -d /var/lib/outbox && test -f /etc/outbox/outbox.yaml && test -d /var/spool/outbox/new &&
        getent passwd outbox >/dev/null' || { echo "FAIL: uninstall removed data, configuration or users"; status=1; }
    container_stop
    ((status == 0)) && echo "unit-check: passed" || echo "unit-check: FAILED"
    return $status
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -uo pipefail
    case ${1:-} in
    build-rootfs) container_build_rootfs ;;
    selftest) _ct_selftest ;;
    unit-check) shift; _ct_unit_check "$@" ;;
    leftovers) container_leftovers ;;
    *) echo "usage: $0 build-rootfs | selftest | unit-check [--bin-dir DIR] | leftovers" >&2; exit 64 ;;
    esac
fi
