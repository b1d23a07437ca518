import Systemd

/// When ``StatusReporter`` sends `WATCHDOG=1`: every ``WatchdogPolicy/pingInterval`` while every loop's
/// heartbeat is fresh; never while one is stale, so systemd restarts a wedged daemon.
///
/// Pure: the caller passes the time on its clock (`ContinuousClock` in the daemon, whose instants the
/// loops stamp as heartbeats; a hand-advanced one in tests) and does what the returned action says.
struct WatchdogPinger<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    enum Action: Equatable, Sendable {
        /// Send `WATCHDOG=1`.
        case ping
        /// A loop stopped making progress: say so once (its heartbeat is this old); no ping.
        case stopPinging(oldestHeartbeatAge: Duration)
        /// Nothing to send: the next ping is not due, or pings already stopped.
        case wait
    }

    let policy: WatchdogPolicy
    /// When the next ping is due; the first is due at once.
    private(set) var nextPing: Instant
    /// False once a stale heartbeat stopped the pings (until every loop is fresh again).
    private(set) var pinging = true

    init(policy: WatchdogPolicy, start: Instant) {
        self.policy = policy
        nextPing = start
    }

    /// A pinger for systemd's `WatchdogSec=` `interval`, the first ping due at `start`.
    init(interval: Duration, start: Instant) {
        self.init(policy: WatchdogPolicy(interval: interval), start: start)
    }

    /// What to do at `now`, given every loop's last heartbeat.
    mutating func action(heartbeats: [Instant], now: Instant) -> Action {
        guard now >= nextPing else { return .wait }
        let alive = policy.shouldPing(heartbeats: heartbeats, now: now)
        defer { pinging = alive }
        if alive {
            nextPing = now.advanced(by: policy.pingInterval)
            return .ping
        }
        guard pinging else { return .wait }
        return .stopPinging(oldestHeartbeatAge: heartbeats.min().map { $0.duration(to: now) } ?? .zero)
    }
}
