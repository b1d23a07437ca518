import OutboxCore

/// Parses the durations the configuration accepts: a whole number of seconds, or a number with
/// one unit: `ms`, `s`, `m`, `h`, `d` (`30s`, `5m`, `1h`, `5d`).
public enum DurationParser {
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace().lowercased()
        let digits = trimmed.prefix(while: \.isNumber)
        guard !digits.isEmpty, let number = Int64(digits), number >= 0 else { return nil }
        switch trimmed.dropFirst(digits.count) {
        case "", "s": return .seconds(number)
        case "ms": return .milliseconds(number)
        case "m": return .seconds(number * 60)
        case "h": return .seconds(number * 3600)
        case "d": return .seconds(number * 86_400)
        default: return nil
        }
    }
}
