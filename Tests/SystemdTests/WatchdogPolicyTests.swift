import Systemd
import Testing

@Suite("Watchdog policy")
struct WatchdogPolicyTests {
    let policy = WatchdogPolicy(interval: .seconds(20))
    let now = ContinuousClock.now

    @Test("Pings at half the interval; loops wake at a quarter")
    func intervals() {
        #expect(policy.pingInterval == .seconds(10))
        #expect(policy.loopWakeInterval == .seconds(5))
    }

    @Test("Pings while every loop has a heartbeat younger than the interval")
    func alive() {
        #expect(policy.shouldPing(heartbeats: [now - .seconds(1), now - .seconds(19)], now: now))
    }

    @Test("Stops pinging when one loop's heartbeat is as old as the interval or older",
          arguments: [Duration.seconds(20), .seconds(21), .seconds(3600)])
    func wedged(age: Duration) {
        #expect(!policy.shouldPing(heartbeats: [now, now - age], now: now))
    }

    @Test("A heartbeat in the future (a loop busy until a bounded deadline) counts until then plus the interval")
    func future() {
        let busyUntil = now + .seconds(60)
        #expect(policy.shouldPing(heartbeats: [now + .seconds(79), busyUntil], now: now + .seconds(79)))
        #expect(!policy.shouldPing(heartbeats: [now + .seconds(80), busyUntil], now: now + .seconds(80)))
    }

    @Test("No heartbeats yet means nothing is wedged")
    func empty() {
        #expect(policy.shouldPing(heartbeats: [ContinuousClock.Instant](), now: now))
    }
}
