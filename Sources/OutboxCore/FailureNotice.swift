/// `delivery.failure_notice_to`: a short message telling an admin that mail failed for good, so a
/// refused password-reset mail does not go unnoticed.
///
/// A notice carries the ``header`` field; a notice that fails itself never causes another one.
public struct FailureNotice: Sendable, Hashable {
    /// Marks a message as a failure notice.
    public static let header = "X-Outbox-Failure-Notice"

    public var queueID: String
    public var subject: String?
    public var sender: String
    /// Each recipient that failed, with the server's reply.
    public var failures: [Failure]

    public struct Failure: Sendable, Hashable {
        public var address: String
        public var reply: String
        public init(address: String, reply: String) {
            self.address = address
            self.reply = reply
        }
    }

    public init(queueID: String, subject: String?, sender: String, failures: [Failure]) {
        self.queueID = queueID
        self.subject = subject
        self.sender = sender
        self.failures = failures
    }

    /// True when `content` is itself a failure notice.
    public static func isNotice(_ content: RawMessage) -> Bool {
        content.fields.contains { $0.name.lowercased() == header.lowercased() }
    }

    /// The notice as an RFC 5322 message from `from` to `to`, ASCII only (the subject and
    /// replies are reduced to printable ASCII so the notice itself is always valid).
    public func message(from: EmailAddress, to: EmailAddress) -> String {
        func printable(_ text: String) -> String { text.printableExcerpt(maximumLength: nil, asciiOnly: true) }
        var lines = [
            "From: outbox <\(from.value)>",
            "To: <\(to.value)>",
            "Subject: [outbox] Undeliverable: \(printable(subject ?? "(no subject)"))",
            "\(Self.header): \(queueID)",
            "Auto-Submitted: auto-generated",
            "",
            "outbox could not deliver message \(queueID) from <\(printable(sender))> to:",
            "",
        ]
        for failure in failures {
            lines.append("  <\(printable(failure.address))>: \(printable(failure.reply))")
        }
        lines += ["", "The message is kept in the queue: outbox list shows it.", ""]
        return lines.joined(separator: "\n")
    }
}
