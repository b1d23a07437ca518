public import Logging
import OutboxCore

/// How a log event becomes a journal entry: which fields, named how. Pure, so it is tested
/// without a journal; ``JournalLogHandler`` sends what this returns.
///
/// Journal field names are upper-case ASCII letters, digits and underscores, start with a letter
/// (a leading `_` marks fields only journald may set) and are at most 64 characters
/// (`systemd.journal-fields(7)`). Our dotted metadata keys map onto that: the four a mail admin
/// searches by have fixed names (`journalctl -u outboxd OUTBOX_QUEUE_ID=…`), the rest are upper-cased
/// with every other character turned into `_`.
public enum JournalFields {
    /// The fixed names for the fields an admin traces one message by (``LogKey`` names every key).
    public static let wellKnownNames: [String: String] = LogKey.journalFieldNames

    /// Names this handler sets itself; metadata mapping onto one gets an `OUTBOX_` prefix instead of
    /// overwriting it.
    static let reservedNames: Set<String> = [
        "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "MESSAGE_ID",
        "SYSLOG_FACILITY", "SYSLOG_PID", "ERRNO",
    ]

    /// The journal field name for a metadata key, or nil when the key must never be written
    /// (anything naming a password: a secret must not reach the journal even by mistake).
    public static func name(forMetadataKey key: String) -> String? {
        if key.lowercased().contains("password") { return nil }
        if let known = wellKnownNames[key] { return known }
        var name = String(String.UnicodeScalarView(key.unicodeScalars.map { scalar -> Unicode.Scalar in
            switch scalar {
            case "a"..."z": Unicode.Scalar(scalar.value - 32)!
            case "A"..."Z", "0"..."9": scalar
            default: "_"
            }
        }))
        if name.isEmpty || !("A"..."Z").contains(name.unicodeScalars.first!) { name = "OUTBOX_" + name }
        if reservedNames.contains(name) { name = "OUTBOX_" + name }
        return String(name.prefix(64))
    }

    /// The syslog priority journald files a level under (`PRIORITY=`, see `syslog(3)`).
    public static func priority(of level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The fields of one entry, in order: `MESSAGE` (the constant message, then the metadata as
    /// `key=value` so the plain `journalctl -u outboxd` view keeps them), `PRIORITY`,
    /// `SYSLOG_IDENTIFIER`, the code location, then one field per metadata key. Metadata naming a
    /// password is left out entirely.
    public static func entry(
        level: Logger.Level, message: String, metadata: Logger.Metadata, identifier: String,
        file: String = "", function: String = "", line: UInt = 0
    ) -> [(name: String, value: String)] {
        var text = message
        var fields: [(name: String, value: String)] = []
        var named: [(name: String, value: String)] = []
        for key in metadata.keys.sorted() {
            guard let name = name(forMetadataKey: key), let value = metadata[key] else { continue }
            let rendered = "\(value)"
            text += " \(key)=\(rendered)"
            named.append((name, rendered))
        }
        fields.append(("MESSAGE", text))
        fields.append(("PRIORITY", "\(priority(of: level))"))
        fields.append(("SYSLOG_IDENTIFIER", identifier))
        if !file.isEmpty {
            fields.append(("CODE_FILE", file))
            fields.append(("CODE_LINE", "\(line)"))
            fields.append(("CODE_FUNC", function))
        }
        return fields + named
    }
}
