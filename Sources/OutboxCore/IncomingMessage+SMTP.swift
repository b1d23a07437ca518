extension IncomingMessage {
    /// A message received over SMTP: the envelope (MAIL FROM, RCPT TO) is authoritative and the
    /// header's addresses are not interpreted; `Date:` and `Message-ID:` are added when missing
    /// (RFC 6409 §8.2–8.3), `From:` when missing (from the envelope sender), and a `Bcc:` field is
    /// removed as for spool files, so blind recipients never show, whatever the client wrote.
    ///
    /// - Parameters:
    ///   - content: CRLF lines, dot-unstuffed, as the SMTP server read them.
    ///   - maxSize: the same limit as spool intake (`listen.max_message_size`).
    public init(smtpContent content: [UInt8], envelope: Envelope, maxSize: Int, context: Context) throws(Rejection) {
        guard content.count <= maxSize else {
            throw Rejection("the message is \(content.count) bytes, over the limit of \(maxSize)")
        }
        try self.init(eml: content, context: context, envelopeSender: envelope.sender,
                      envelopeRecipients: envelope.recipients)
    }

    /// Puts a trace field (`Received:`) before the first line of the header (RFC 5321 §4.4).
    /// `value` may be folded with CRLF + tab; each line must be printable ASCII.
    public mutating func prependTraceField(_ field: String) {
        content = RawMessage(normalizedBytes: Array((field + "\r\n").utf8) + content.bytes)
    }
}
