import Foundation
import OutboxCore

extension UnixTime {
    /// ISO 8601 in UTC, for JSON: `2026-11-26T18:51:06Z`.
    var iso8601: String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds)) }
}
