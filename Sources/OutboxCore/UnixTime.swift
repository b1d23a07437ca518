/// A wall-clock instant, in milliseconds since 1970-01-01 UTC.
///
/// Persisted times must mean the same after a reboot, so the queue stores these rather than a
/// `ContinuousClock` instant. Pure code receives `now` as an argument; only services read the clock.
public struct UnixTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public init(seconds: Double) { self.milliseconds = Int64((seconds * 1000).rounded()) }

    public var seconds: Double { Double(milliseconds) / 1000 }

    public static func < (lhs: UnixTime, rhs: UnixTime) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public static func + (lhs: UnixTime, rhs: Duration) -> UnixTime {
        UnixTime(milliseconds: lhs.milliseconds + rhs.wholeMilliseconds)
    }

    public static func - (lhs: UnixTime, rhs: Duration) -> UnixTime {
        UnixTime(milliseconds: lhs.milliseconds - rhs.wholeMilliseconds)
    }

    public static func - (lhs: UnixTime, rhs: UnixTime) -> Duration {
        .milliseconds(lhs.milliseconds - rhs.milliseconds)
    }

    public var description: String { "\(milliseconds)ms" }
}

extension Duration {
    /// The duration truncated to whole milliseconds.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
