extension IncomingMessage {
    /// A message received over SMTP: the envelope (MAIL FROM, RCPT TO) is authoritative and the
    /// header's addresses are not interpreted; `Date:` and `Message-ID:` are added when missing
    /// (RFC 6409 §8.2–8.3), `From:` when missing (from the envelope sender; `To:` is not invented), a
    /// content whose first lines are no header fields gets an empty header, and a `Bcc:` field is
    /// removed as for spool files, so blind recipients never show, whatever the client wrote.
    ///
    /// - Parameters:
    ///   - content: CRLF lines, dot-unstuffed, as the SMTP server read them.
    ///   - maxSize: the same limit as spool intake (`listen.max_message_size`).
    public init(smtpContent content: [UInt8], envelope: Envelope, maxSize: Int, context: Context) throws(Rejection) {
        guard content.count <= maxSize else {
            throw Rejection("the message is \(content.count) bytes, over the limit of \(maxSize)")
        }
        var content = content
        // A line that is no header field starts the body, as Postfix's cleanup does: SMTP clients
        // (scripts, monitoring tools) send bare bodies, or a header broken at some line, and the
        // envelope already says everything needed to deliver.
        if case .failure(.notAHeaderLine(let line)) = Result(catching: { () throws(RawMessage.ParseError) in try RawMessage(normalizing: content) }) {
            content.insert(contentsOf: [13, 10], at: Self.offset(ofLine: line, in: content))
        }
        try self.init(eml: content, context: context, envelopeSender: envelope.sender,
                      envelopeRecipients: envelope.recipients)
    }

    /// The byte offset where 1-based CRLF line `line` starts.
    private static func offset(ofLine line: Int, in content: [UInt8]) -> Int {
        var current = 1
        var index = 0
        while current < line, index + 1 < content.count {
            if content[index] == 13 && content[index + 1] == 10 {
                current += 1
                index += 2
            } else {
                index += 1
            }
        }
        return current == line ? index : content.count
    }

    /// Puts a trace field (`Received:`) before the first line of the header (RFC 5321 §4.4).
    /// `value` may be folded with CRLF + tab; each line must be printable ASCII.
    public mutating func prependTraceField(_ field: String) {
        content = RawMessage(normalizedBytes: Array((field + "\r\n").utf8) + content.bytes)
    }
}
