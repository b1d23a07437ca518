extension IncomingMessage {
    /// Header fields a `.eml` spool file may carry to give an envelope that differs from its
    /// headers (`sendmail -f` and recipients given as arguments). The daemon removes them; any
    /// producer may use them, as it could equally write a `Bcc:`.
    public static let envelopeSenderField = "X-Outbox-Envelope-From"
    public static let envelopeRecipientsField = "X-Outbox-Envelope-To"

    /// A `.eml` spool file: `sendmail -t` rules, unless the envelope fields above are present,
    /// in which case they give the sender and/or the recipients.
    public init(spoolEML input: some Collection<UInt8>, context: Context) throws(Rejection) {
        var raw: RawMessage
        do {
            raw = try RawMessage(normalizing: input)
        } catch {
            throw Rejection(error.description)
        }
        let senders = raw.values(of: Self.envelopeSenderField)
        let recipientValues = raw.values(of: Self.envelopeRecipientsField)
        guard !senders.isEmpty || !recipientValues.isEmpty else {
            try self.init(normalized: consume raw, context: context, envelopeSender: nil, envelopeRecipients: nil)
            return
        }
        raw.removeFields(named: Self.envelopeSenderField)
        raw.removeFields(named: Self.envelopeRecipientsField)

        var sender: EmailAddress?
        if let first = senders.first {
            guard senders.count == 1 else { throw Rejection("\(Self.envelopeSenderField) is given more than once") }
            do {
                sender = try EmailAddress(first)
            } catch {
                throw Rejection(
                    "invalid address in \(Self.envelopeSenderField): \"\(first.printableExcerpt)\": \(error)")
            }
        }
        var recipients: [EmailAddress] = []
        var seen = Set<String>()
        for value in recipientValues {
            for spec in AddressList.addrSpecs(in: value) {
                do {
                    let address = try EmailAddress(spec)
                    if seen.insert(address.value.lowercased()).inserted { recipients.append(address) }
                    if recipients.count > Self.maximumRecipients { throw Self.tooManyRecipients(Self.envelopeRecipientsField) }
                } catch {
                    throw Rejection(
                        "invalid address in \(Self.envelopeRecipientsField): \"\(spec.printableExcerpt)\": \(error)")
                }
            }
        }
        if !recipientValues.isEmpty && recipients.isEmpty {
            throw Rejection("no recipients: \(Self.envelopeRecipientsField) is empty")
        }
        // The sendmail -t parser does the rest (Bcc removal, Date, Message-ID, From when missing);
        // header addresses the explicit envelope replaces are not interpreted.
        try self.init(
            normalized: raw, context: context, envelopeSender: sender,
            envelopeRecipients: recipients.isEmpty ? nil : recipients)
    }
}
