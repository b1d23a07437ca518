import CSystemd
import Glibc
import OutboxCore

/// Tells the service manager how the daemon is doing, through `sd_notify(3)`.
///
/// Without `$NOTIFY_SOCKET` (not started by systemd with Type=notify) every call is a no-op, so
/// the daemon runs the same in a terminal. Messages must never carry secrets: systemd shows
/// `STATUS=` to every user in `systemctl status`.
public struct Notifier: Sendable {
    public init() {}

    /// True when a service manager listens.
    public var isActive: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// `READY=1`, optionally with a status line.
    public func ready(status: String? = nil) {
        send("READY=1" + (status.map { "\nSTATUS=\(Self.oneLine($0))" } ?? ""))
    }

    /// `STATUS=…`: one line for `systemctl status`.
    public func status(_ text: String) { send("STATUS=\(Self.oneLine(text))") }

    /// `STOPPING=1` as shutdown begins.
    public func stopping(status: String? = nil) {
        send("STOPPING=1" + (status.map { "\nSTATUS=\(Self.oneLine($0))" } ?? ""))
    }

    /// `RELOADING=1` with `MONOTONIC_USEC` (systemd ≥ 253 requires it; 252 ignores it).
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let usec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        send("RELOADING=1\nMONOTONIC_USEC=\(usec)")
    }

    /// `EXTEND_TIMEOUT_USEC=…` with a status line: a long step before `READY=1` (a schema upgrade,
    /// a one-time VACUUM) gets `duration` from now instead of what is left of `TimeoutStartSec=`,
    /// so systemd does not kill it halfway and start the same step again, forever.
    public func extendTimeout(by duration: Duration, status: String) {
        let usec = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        send("EXTEND_TIMEOUT_USEC=\(usec)\nSTATUS=\(Self.oneLine(status))")
    }

    /// `WATCHDOG=1`: the daemon is alive and making progress.
    public func watchdog() { send("WATCHDOG=1") }

    /// The watchdog interval systemd expects pings within (`WatchdogSec=`), or nil when off.
    public var watchdogInterval: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }

    private func send(_ state: String) {
        guard isActive else { return }
        _ = sd_notify(0, state)
    }

    /// sd_notify reads one assignment per line: a line break in the text would end `STATUS=` and
    /// start an assignment of the text's choosing. (Mapping `Character`s missed `"\r\n"`, which is
    /// one `Character` equal to neither `"\n"` nor `"\r"`.)
    static func oneLine(_ text: String) -> String { text.joinedAsOneLine }
}
