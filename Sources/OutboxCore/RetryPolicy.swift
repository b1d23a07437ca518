/// When to try a temporarily failed message again, and when to give up.
///
/// A pure function of its inputs, in the spirit of Postfix's `minimal_backoff_time` /
/// `maximal_backoff_time` / `maximal_queue_lifetime`: the delay starts at `firstDelay`, grows by
/// `factor` per failed attempt up to `maximumDelay`, and a message older than `lifetime` fails
/// (once its retries have really been spread out: see ``decision(afterAttempt:queuedAt:now:random:)``).
/// Jitter spreads retries of mail that failed together; the caller draws it and passes it in.
public struct RetryPolicy: Sendable, Hashable {
    public var firstDelay: Duration
    public var factor: Double
    public var maximumDelay: Duration
    public var lifetime: Duration
    /// The largest fraction by which a delay is lengthened at random (0.1 = up to +10 %).
    public var jitter: Double

    public init(
        firstDelay: Duration = .seconds(300),
        factor: Double = 2,
        maximumDelay: Duration = .seconds(3600),
        lifetime: Duration = .seconds(5 * 86_400),
        jitter: Double = 0.1
    ) {
        self.firstDelay = firstDelay
        self.factor = factor
        self.maximumDelay = maximumDelay
        self.lifetime = lifetime
        self.jitter = jitter
    }

    public enum Decision: Sendable, Hashable {
        case retry(at: UnixTime)
        case giveUp
    }

    /// The delay before attempt `attempt + 1`, before jitter.
    public func delay(afterAttempt attempt: Int) -> Duration {
        let exponent = Double(max(attempt - 1, 0))
        let firstMs = Double(firstDelay.wholeMilliseconds)
        let capMs = Double(maximumDelay.wholeMilliseconds)
        let ms = min(firstMs * _power(factor, exponent), capMs)
        return .milliseconds(Int64(ms))
    }

    /// The least time the waits between `attempts` attempts span by this schedule (no jitter):
    /// time the retries were really spread over, whatever the wall clock says.
    public func scheduledSpan(attempts: Int) -> Duration {
        var span = Duration.zero
        var waited = 1
        while waited < attempts {
            let delay = delay(afterAttempt: waited)
            if delay >= maximumDelay {
                // The rest all wait the maximum.
                return span + maximumDelay * (attempts - waited)
            }
            span += delay
            waited += 1
        }
        return span
    }

    /// What to do after the `attempt`-th temporary failure (1-based) of mail queued at `queuedAt`.
    ///
    /// Mail is given up when it is older than `lifetime` *and* its attempts were spread over at
    /// least a quarter of the lifetime by the schedule (``scheduledSpan(attempts:)``): a wall clock
    /// stepped forward by days makes mail look old, but cannot fake the retries it has not had.
    /// - Parameter random: a number in `0..<1` the caller drew; it scales the jitter.
    public func decision(afterAttempt attempt: Int, queuedAt: UnixTime, now: UnixTime, random: Double) -> Decision {
        if now - queuedAt >= lifetime && scheduledSpan(attempts: attempt) >= lifetime / 4 { return .giveUp }
        let base = delay(afterAttempt: attempt)
        let extra = Double(base.wholeMilliseconds) * jitter * min(max(random, 0), 1)
        return .retry(at: now + base + .milliseconds(Int64(extra)))
    }
}

/// `pow` without Foundation: the exponent is a small non-negative whole number.
private func _power(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var remaining = Int(min(exponent, 64))
    while remaining > 0 {
        result *= base
        remaining -= 1
        if result > 1e15 { break }
    }
    return result
}
