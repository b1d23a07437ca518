/// Short human durations for status lines and the CLI: `3s`, `4m`, `2h`, `5d`.
public enum RelativeTime {
    public static func describe(_ duration: Duration) -> String {
        let seconds = max(duration.wholeMilliseconds / 1000, 0)
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3600: return "\(seconds / 60)m"
        case ..<86_400: return "\(seconds / 3600)h"
        default: return "\(seconds / 86_400)d"
        }
    }
}
