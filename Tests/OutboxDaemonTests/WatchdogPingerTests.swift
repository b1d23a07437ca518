import Testing

@testable import OutboxDaemon

/// The watchdog decision on a hand-advanced clock: what StatusReporter sends, asserted on the
/// returned actions, never by sleeping.
@Suite("Watchdog pinger (WATCHDOG=1) on an injected clock")
struct WatchdogPingerTests {
    typealias Instant = ManualClock.Instant
    let start = Instant(offset: .seconds(1_000))

    func at(_ seconds: Int) -> Instant { start.advanced(by: .seconds(seconds)) }

    @Test("Pings at once, then every half WatchdogSec while every loop's heartbeat is fresh")
    func pingsEveryHalfInterval() {
        var pinger = WatchdogPinger(interval: .seconds(20), start: start)
        #expect(pinger.action(heartbeats: [at(0)], now: at(0)) == .ping)
        #expect(pinger.action(heartbeats: [at(5)], now: at(5)) == .wait)
        #expect(pinger.action(heartbeats: [at(9)], now: at(9)) == .wait)
        #expect(pinger.action(heartbeats: [at(10)], now: at(10)) == .ping)
        #expect(pinger.nextPing == at(20))
    }

    @Test("A loop wedged for the whole interval stops the pings, said once with its heartbeat's age")
    func staleHeartbeatStopsPings() {
        var pinger = WatchdogPinger(interval: .seconds(20), start: start)
        #expect(pinger.action(heartbeats: [at(0), at(0)], now: at(0)) == .ping)
        #expect(pinger.action(heartbeats: [at(10), at(1)], now: at(10)) == .ping)
        #expect(pinger.action(heartbeats: [at(21), at(1)], now: at(21)) == .stopPinging(oldestHeartbeatAge: .seconds(20)))
        #expect(!pinger.pinging)
        #expect(pinger.action(heartbeats: [at(26), at(1)], now: at(26)) == .wait, "said once, not every round")
    }

    @Test("A loop that makes progress again earns the pings back")
    func recovers() {
        var pinger = WatchdogPinger(interval: .seconds(20), start: start)
        #expect(pinger.action(heartbeats: [at(0)], now: at(0)) == .ping)
        #expect(pinger.action(heartbeats: [at(0)], now: at(25)) == .stopPinging(oldestHeartbeatAge: .seconds(25)))
        #expect(pinger.action(heartbeats: [at(30)], now: at(30)) == .ping)
        #expect(pinger.pinging)
    }

    @Test("A heartbeat in the future (a bounded transfer) vouches until its bound plus the interval")
    func futureHeartbeat() {
        var pinger = WatchdogPinger(interval: .seconds(20), start: start)
        let busyUntil = at(60)
        #expect(pinger.action(heartbeats: [busyUntil], now: at(0)) == .ping)
        #expect(pinger.action(heartbeats: [busyUntil], now: at(79)) == .ping)
        #expect(pinger.action(heartbeats: [busyUntil], now: at(80)) == .wait, "the next ping is not due yet")
        #expect(pinger.action(heartbeats: [busyUntil], now: at(89)) == .stopPinging(oldestHeartbeatAge: .seconds(29)))
    }
}
