/// `delivery.rate_limit`: at most `limit` messages in any `window` (a minute), for providers
/// such as Gmail that throttle or block a sender that goes faster.
///
/// A sliding window over the start times of recent sends. Pure: the caller passes the time, as
/// an offset from any fixed origin (a monotonic clock's), and sleeps for the returned wait.
public struct SendingRateLimit: Sendable, Hashable {
    public let limit: Int
    public let window: Duration
    private var starts: [Duration] = []

    /// - Parameter limit: messages per window; at least 1.
    public init(limit: Int, window: Duration = .seconds(60)) {
        self.limit = max(limit, 1)
        self.window = window
    }

    /// Takes a slot at `now` when one is free and returns zero; otherwise takes nothing and
    /// returns how long until the oldest send leaves the window.
    public mutating func reserve(at now: Duration) -> Duration {
        starts.removeAll { $0 <= now - window }
        guard starts.count >= limit else {
            starts.append(now)
            return .zero
        }
        return starts.min()! + window - now
    }

    /// Gives back the slot last taken (it was not used: nothing was due).
    public mutating func cancelLastReservation() {
        if !starts.isEmpty { starts.removeLast() }
    }
}
