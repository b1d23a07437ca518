/// `smtp.from_policy: rewrite`: makes the header From the mailbox outbox logs in as, for relays
/// (Microsoft 365, Google) that refuse a From the login may not send as (`550 5.7.60`).
///
/// The original author stays visible: as the display name (`"Alice via XNAT" <mailbox>`) and in
/// `Reply-To:` when the message has none, so replies still reach them. Applied to the copy being
/// sent; the stored message (what `outbox show` prints) keeps its original From.
public struct FromRewrite: Sendable, Hashable {
    /// The address every From becomes (`smtp.from`).
    public var mailbox: EmailAddress
    /// What follows "via" in the display name.
    public var label: String

    public init(mailbox: EmailAddress, label: String = "XNAT") {
        self.mailbox = mailbox
        self.label = label
    }

    /// The message with its From rewritten, or unchanged when it is already from the mailbox
    /// (or has no From).
    public func apply(to message: RawMessage) -> RawMessage {
        guard let from = message.fields.first(where: { $0.name.lowercased() == "from" }) else { return message }
        let value = from.value.trimmingWhitespace()
        let addresses = AddressList.addrSpecs(in: value)
        if addresses.count == 1, addresses[0].lowercased() == mailbox.value.lowercased() { return message }
        let phrase = displayPhrase(value: value, address: addresses.first)
        var result = message
        result.replaceFirstField(named: "From", with: RawMessage.Field(name: "From", lines: [Array("From: \(phrase) <\(mailbox.value)>".utf8)]))
        if !message.fields.contains(where: { $0.name.lowercased() == "reply-to" }), !value.isEmpty {
            result.appendField(name: "Reply-To", value: value)
        }
        return result
    }

    /// "NAME via LABEL" as a phrase: NAME is the original display name (encoded-words kept as
    /// they are), else the original address.
    func displayPhrase(value: String, address: String?) -> String {
        var name = ""
        if let angle = value.firstIndex(of: "<") {
            name = String(value[..<angle]).trimmingWhitespace()
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 {
                var unquoted = ""
                var escaped = false
                for c in name.dropFirst().dropLast() {
                    if escaped { unquoted.append(c); escaped = false } else if c == "\\" { escaped = true } else { unquoted.append(c) }
                }
                name = unquoted
            }
        }
        if name.contains("=?") {
            // Already encoded-words (7-bit): keep them, add plain atoms after.
            return name + " via " + RFC2047.encodePhrase(label)
        }
        return RFC2047.encodePhrase((name.isEmpty ? (address ?? value) : name) + " via " + label)
    }
}
