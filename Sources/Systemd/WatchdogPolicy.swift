/// When to tell systemd's watchdog "alive" (`WATCHDOG=1`), given the interval it expects
/// (`WatchdogSec=`, read with `sd_watchdog_enabled(3)`).
///
/// The daemon pings every half interval (the margin `sd_watchdog_enabled(3)` recommends), but only
/// while every loop it depends on has proved itself recently: each loop records a heartbeat each time
/// round, and wakes at least every ``loopWakeInterval`` even with nothing to do. A heartbeat older than
/// the interval means a wedged loop: pings stop and systemd kills and restarts the daemon.
/// A heartbeat may lie in the future: a loop busy with a bounded operation (an SMTP transaction, bounded
/// by curl's timeouts) vouches for itself until that bound.
public struct WatchdogPolicy: Sendable, Hashable {
    /// `WatchdogSec=`.
    public var interval: Duration

    public init(interval: Duration) { self.interval = interval }

    /// How often to ping.
    public var pingInterval: Duration { interval / 2 }

    /// The longest a loop may sleep between heartbeats.
    public var loopWakeInterval: Duration { interval / 4 }

    /// True when every heartbeat is younger than the interval.
    public func shouldPing<Instant: InstantProtocol>(heartbeats: [Instant], now: Instant) -> Bool
    where Instant.Duration == Duration {
        heartbeats.allSatisfy { now < $0.advanced(by: interval) }
    }
}
