/// Who a message is from and to, as SMTP sees it (`MAIL FROM` / `RCPT TO`), apart from the headers.
public struct Envelope: Sendable, Hashable {
    public var sender: EmailAddress
    public var recipients: [EmailAddress]

    public init(sender: EmailAddress, recipients: [EmailAddress]) {
        self.sender = sender
        self.recipients = recipients
    }
}
