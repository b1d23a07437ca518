import OutboxCore
import Testing

@Suite("Retry policy")
struct RetryPolicyTests {
    let queuedAt = UnixTime(seconds: 1_000_000)

    @Test("Delays start at the first delay and double up to the cap",
          arguments: [(1, 300), (2, 600), (3, 1200), (4, 2400), (5, 3600), (12, 3600), (80, 3600)])
    func backoff(attempt: Int, expectedSeconds: Int64) {
        let policy = RetryPolicy(firstDelay: .seconds(300), factor: 2, maximumDelay: .seconds(3600), jitter: 0)
        #expect(policy.delay(afterAttempt: attempt) == .seconds(expectedSeconds))
    }

    @Test("The next attempt is now plus the delay plus at most the jitter fraction")
    func nextAttemptWithJitter() {
        let policy = RetryPolicy(firstDelay: .seconds(100), jitter: 0.1)
        let now = queuedAt + .seconds(10)
        #expect(policy.decision(afterAttempt: 1, queuedAt: queuedAt, now: now, random: 0) == .retry(at: now + .seconds(100)))
        #expect(policy.decision(afterAttempt: 1, queuedAt: queuedAt, now: now, random: 0.5) == .retry(at: now + .seconds(105)))
        #expect(policy.decision(afterAttempt: 1, queuedAt: queuedAt, now: now, random: 0.999_999) == .retry(at: now + .milliseconds(109_999)))
    }

    @Test("Mail older than the lifetime is given up")
    func lifetime() {
        let policy = RetryPolicy(lifetime: .seconds(5 * 86_400))
        let justBefore = queuedAt + .seconds(5 * 86_400 - 1)
        let atLimit = queuedAt + .seconds(5 * 86_400)
        #expect(policy.decision(afterAttempt: 40, queuedAt: queuedAt, now: justBefore, random: 0) != .giveUp)
        #expect(policy.decision(afterAttempt: 40, queuedAt: queuedAt, now: atLimit, random: 0) == .giveUp)
    }

    @Test("A clock stepped forward cannot fail mail that has not been retried over a real interval")
    func forwardStepDoesNotFakeLifetime() {
        let policy = RetryPolicy()  // 5 min doubling to 1 h, 5 days
        let sixDaysLater = queuedAt + .seconds(6 * 86_400)
        // Two attempts, 5 minutes apart, then the clock jumps six days ahead: retried, not failed.
        #expect(policy.decision(afterAttempt: 2, queuedAt: queuedAt, now: sixDaysLater, random: 0) != .giveUp)
        #expect(policy.decision(afterAttempt: 20, queuedAt: queuedAt, now: sixDaysLater, random: 0) != .giveUp)
        // Once the schedule alone spans a quarter of the lifetime (30 h: 34 attempts), it fails.
        #expect(policy.scheduledSpan(attempts: 34) >= .seconds(30 * 3600))
        #expect(policy.decision(afterAttempt: 34, queuedAt: queuedAt, now: sixDaysLater, random: 0) == .giveUp)
    }

    @Test("The schedule's span is the sum of the delays between the attempts made",
          arguments: [(1, 0), (2, 300), (3, 900), (5, 4500), (7, 11_700)])
    func scheduledSpan(attempts: Int, expectedSeconds: Int64) {
        let policy = RetryPolicy(firstDelay: .seconds(300), factor: 2, maximumDelay: .seconds(3600))
        #expect(policy.scheduledSpan(attempts: attempts) == .seconds(expectedSeconds))
    }

    @Test("Defaults are Postfix-like: 5 minutes first, capped at an hour, 5 days lifetime")
    func defaults() {
        let policy = RetryPolicy()
        #expect(policy.delay(afterAttempt: 1) == .seconds(300))
        #expect(policy.delay(afterAttempt: 30) == .seconds(3600))
        #expect(policy.lifetime == .seconds(432_000))
    }
}

@Suite("Date header")
struct RFC5322DateTests {
    @Test("Dates are formatted in UTC as RFC 5322 says (values checked with Python's email.utils)",
          arguments: [
            (Int64(0), "Thu, 1 Jan 1970 00:00:00 +0000"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 +0000"),
            (4_107_542_399, "Sun, 28 Feb 2100 23:59:59 +0000"),
            (1_795_717_236, "Thu, 26 Nov 2026 18:20:36 +0000"),
          ])
    func format(seconds: Int64, expected: String) {
        #expect(RFC5322Date.format(UnixTime(milliseconds: seconds * 1000)) == expected)
    }
}
