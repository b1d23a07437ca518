import OutboxCore

/// How every yes/no setting is read — outbox.yaml, `OUTBOX_*` variables, XNAT's preferences:
/// `true`, `yes`, `on`, `1` and `false`, `no`, `off`, `0`, in any case, around white space.
enum BooleanSetting {
    /// The value, or nil when `text` is none of the words above.
    static func parse(_ text: String) -> Bool? {
        switch text.trimmingWhitespace().lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }
}
