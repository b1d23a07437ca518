import Logging
import Systemd
import Testing

@Suite("Journal fields")
struct JournalFieldsTests {
    @Test("The fields an admin traces a message by have fixed names",
          arguments: [("outbox.queue_id", "OUTBOX_QUEUE_ID"), ("outbox.recipient", "OUTBOX_RECIPIENT"),
                      ("outbox.attempt", "OUTBOX_ATTEMPT"), ("smtp.reply", "SMTP_REPLY")])
    func wellKnown(key: String, expected: String) {
        #expect(JournalFields.name(forMetadataKey: key) == expected)
    }

    @Test("Other keys are upper-cased with dots and other punctuation as underscores",
          arguments: [("outbox.spool_file", "OUTBOX_SPOOL_FILE"), ("smtp.destination", "SMTP_DESTINATION"),
                      ("error", "ERROR"), ("outbox.duration-ms", "OUTBOX_DURATION_MS"), ("Mixed.Case9", "MIXED_CASE9")])
    func upperCased(key: String, expected: String) {
        #expect(JournalFields.name(forMetadataKey: key) == expected)
    }

    @Test("A name never starts with an underscore or digit (journald's trusted or invalid fields)",
          arguments: ["_pid", ".x", "9lives", ""])
    func validStart(key: String) throws {
        let name = try #require(JournalFields.name(forMetadataKey: key))
        #expect(name.hasPrefix("OUTBOX_"), "\(name)")
    }

    @Test("Metadata cannot overwrite the fields the handler sets itself")
    func reserved() {
        #expect(JournalFields.name(forMetadataKey: "message") == "OUTBOX_MESSAGE")
        #expect(JournalFields.name(forMetadataKey: "priority") == "OUTBOX_PRIORITY")
    }

    @Test("Names are at most 64 characters")
    func length() throws {
        let name = try #require(JournalFields.name(forMetadataKey: String(repeating: "a.", count: 50)))
        #expect(name.count == 64)
    }

    @Test("Keys naming a password are never written", arguments: ["smtp.password", "Password", "smtp.old_password"])
    func password(key: String) {
        #expect(JournalFields.name(forMetadataKey: key) == nil)
        let entry = JournalFields.entry(
            level: .info, message: "Settings", metadata: [key: "hunter2"], identifier: "outboxd")
        #expect(!entry.contains { $0.value.contains("hunter2") }, "\(entry)")
    }

    @Test("Levels map onto syslog priorities",
          arguments: [
              (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
          ])
    func priority(level: Logger.Level, expected: Int) {
        #expect(JournalFields.priority(of: level) == expected)
    }

    @Test("An entry has MESSAGE with the metadata appended, PRIORITY, SYSLOG_IDENTIFIER and one field per key")
    func entry() {
        let entry = JournalFields.entry(
            level: .info, message: "Message delivered",
            metadata: ["outbox.queue_id": "42", "smtp.reply": "250 2.0.0 Ok", "outbox.attempt": "1"],
            identifier: "outboxd", file: "outbox/DeliveryDispatcher.swift", function: "deliver", line: 12)
        let fields = Dictionary(entry.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(entry.count == fields.count, "no field twice")
        #expect(fields["MESSAGE"] == "Message delivered outbox.attempt=1 outbox.queue_id=42 smtp.reply=250 2.0.0 Ok")
        #expect(fields["PRIORITY"] == "6")
        #expect(fields["SYSLOG_IDENTIFIER"] == "outboxd")
        #expect(fields["OUTBOX_QUEUE_ID"] == "42")
        #expect(fields["SMTP_REPLY"] == "250 2.0.0 Ok")
        #expect(fields["OUTBOX_ATTEMPT"] == "1")
        #expect(fields["CODE_LINE"] == "12")
    }
}

@Suite("Journal stream detection")
struct JournalStreamTests {
    @Test("$JOURNAL_STREAM matches only the same device and inode")
    func matches() {
        #expect(JournalStream.matches("27:1234", device: 27, inode: 1234))
        #expect(!JournalStream.matches("27:1235", device: 27, inode: 1234))
        #expect(!JournalStream.matches("28:1234", device: 27, inode: 1234))
    }

    @Test("A malformed $JOURNAL_STREAM never matches", arguments: ["", "27", "27:", ":1234", "27:1234:5", "a:b"])
    func malformed(value: String) {
        #expect(!JournalStream.matches(value, device: 27, inode: 1234))
    }
}
