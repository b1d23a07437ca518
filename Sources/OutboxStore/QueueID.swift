/// A message's id as admins see it: the row id as 8+ upper-case hex digits (`0000002A`).
///
/// Row ids come from `AUTOINCREMENT`, so an id is never reused, even after a delete.
public struct QueueID: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: Int64

    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// Parses the hex form, case-insensitive, leading zeros optional.
    public init?(_ text: String) {
        guard !text.isEmpty, text.count <= 16, let value = Int64(text, radix: 16), value > 0 else { return nil }
        rawValue = value
    }

    public var description: String {
        let hex = String(rawValue, radix: 16, uppercase: true)
        return hex.count >= 8 ? hex : String(repeating: "0", count: 8 - hex.count) + hex
    }

    public static func < (lhs: QueueID, rhs: QueueID) -> Bool { lhs.rawValue < rhs.rawValue }
}
