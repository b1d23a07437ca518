public import OutboxCore

/// The `Received:` trace field a server adds (RFC 5321 §4.4), in Postfix's shape:
///
///     Received: from xnat.example.org (localhost [127.0.0.1])
///     	by mail.example.org (outbox) with ESMTP id 0000002A
///     	for <user@example.org>; Tue, 01 Dec 2026 07:30:00 +0000
public struct ReceivedField: Sendable, Hashable {
    public var heloName: String
    public var clientAddress: String
    public var hostname: String
    public var protocolName: String
    /// Named only when the message has exactly one recipient (more would reveal Bcc recipients).
    public var recipient: EmailAddress?
    public var date: UnixTime

    public init(heloName: String, clientAddress: String, hostname: String, protocolName: String,
                recipient: EmailAddress?, date: UnixTime) {
        self.heloName = heloName
        self.clientAddress = clientAddress
        self.hostname = hostname
        self.protocolName = protocolName
        self.recipient = recipient
        self.date = date
    }

    /// The whole field, folded, without the final CRLF. The client's HELO name is made printable
    /// and stripped of anything that would end a comment.
    public func text(queueID: String) -> String {
        let helo = String(heloName.unicodeScalars.map { ($0.value > 0x20 && $0.value < 0x7F && $0 != "(" && $0 != ")") ? Character($0) : "?" }.prefix(100))
        var field = "Received: from \(helo) ([\(clientAddress)])\r\n\tby \(hostname) (outbox) with \(protocolName) id \(queueID)"
        if let recipient { field += "\r\n\tfor <\(recipient)>" }
        field += "; \(RFC5322Date.format(date))"
        return field
    }
}
