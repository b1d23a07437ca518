import Foundation
import OutboxCore

extension UnixTime {
    /// The wall clock now.
    static var current: UnixTime { UnixTime(seconds: Date().timeIntervalSince1970) }

    /// ISO 8601 in UTC, for JSON: `2026-11-26T18:51:06Z`.
    var iso8601: String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds)) }

    /// Relative to `now`, for people: `2h ago`, `in 4m`, `now`.
    func relative(to now: UnixTime) -> String {
        if self == now { return "now" }
        return self < now ? RelativeTime.describe(now - self) + " ago" : "in " + RelativeTime.describe(self - now)
    }
}
