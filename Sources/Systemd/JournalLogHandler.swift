import CSystemd
import Glibc
public import Logging

/// A swift-log handler that writes each event to the systemd journal with `sd_journal_sendv(3)`:
/// `PRIORITY` from the level, `MESSAGE`, `SYSLOG_IDENTIFIER`, and every metadata key as its own
/// field (see ``JournalFields``), so `journalctl -u outboxd OUTBOX_QUEUE_ID=…` traces one message.
///
/// Use it when standard error already goes to the journal (``JournalStream/standardErrorIsJournal()``);
/// elsewhere plain lines on stderr are the better choice. Metadata naming a password is never written.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let identifier: String

    /// - Parameters:
    ///   - label: the logger's label (unused in the entry; the identifier names the program).
    ///   - identifier: `SYSLOG_IDENTIFIER`, the name `journalctl -t` selects by (e.g. `outboxd`).
    public init(label: String, identifier: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.identifier = identifier
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        if let error = event.error, merged["error"] == nil { merged["error"] = "\(error)" }
        let fields = JournalFields.entry(
            level: event.level, message: "\(event.message)", metadata: merged, identifier: identifier,
            file: event.file, function: event.function, line: event.line)
        Self.send(fields)
    }

    /// One `FIELD=value` iovec per field. sd_journal_sendv copes with newlines and binary in values
    /// ("the data … may contain binary data", sd_journal_print(3)); the buffers only need to live for the call.
    static func send(_ fields: [(name: String, value: String)]) {
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = buffer.count
            buffer.append(contentsOf: field.name.utf8)
            buffer.append(UInt8(ascii: "="))
            buffer.append(contentsOf: field.value.utf8)
            ranges.append(start..<buffer.count)
        }
        buffer.withUnsafeMutableBytes { bytes in
            var vectors = ranges.map { range in
                iovec(iov_base: bytes.baseAddress! + range.lowerBound, iov_len: range.count)
            }
            _ = vectors.withUnsafeMutableBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }
}
