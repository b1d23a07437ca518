/// A message a producer handed over, turned into what the queue stores: the envelope and the
/// normalized content to transmit.
///
/// `.eml` input follows `sendmail -t`: the sender comes from `From:` (or `Sender:` when `From:`
/// names several mailboxes), the recipients from `To:`, `Cc:` and `Bcc:`, and `Bcc:` is removed
/// from what is transmitted. `Date:` and `Message-ID:` are added when missing, as Postfix does
/// for local submissions.
public struct IncomingMessage: Sendable, Hashable {
    public var envelope: Envelope
    public var content: RawMessage

    /// Why a producer's message cannot be queued; one line a human understands.
    public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// What intake needs from outside to finish a message; passed in so parsing stays pure.
    public struct Context: Sendable {
        /// `smtp.from`: the sender for a message without `From:`. May be nil.
        public var defaultSender: EmailAddress?
        /// The domain used in generated Message-IDs (the machine's FQDN).
        public var hostname: String
        public var now: UnixTime
        /// Unique per message; becomes the left part of a generated Message-ID.
        public var uniqueToken: String

        public init(defaultSender: EmailAddress?, hostname: String, now: UnixTime, uniqueToken: String) {
            self.defaultSender = defaultSender
            self.hostname = hostname
            self.now = now
            self.uniqueToken = uniqueToken
        }
    }

    /// A message may have at most this many recipients (Postfix's `smtpd_recipient_limit`); a
    /// larger list is refused at intake with the reason, so the producer can split it.
    public static let maximumRecipients = 1_000

    /// The one-line refusal for a recipient list over ``maximumRecipients``.
    static func tooManyRecipients(_ source: String) -> Rejection {
        Rejection("more than \(maximumRecipients) recipients in \(source): split the message into several")
    }

    /// Parses an RFC 5322 message the way `sendmail -t` does.
    public init(eml input: some Collection<UInt8>, context: Context) throws(Rejection) {
        try self.init(eml: input, context: context, envelopeSender: nil, envelopeRecipients: nil)
    }

    /// Parses an RFC 5322 message; an envelope given from outside (sendmail's `-f` and recipient
    /// arguments) replaces the one in the header, whose addresses are then not interpreted at all —
    /// cron writes `From: root (Cron Daemon)` and `To: root`, which are no SMTP addresses.
    init(eml input: some Collection<UInt8>, context: Context, envelopeSender: EmailAddress?,
         envelopeRecipients: [EmailAddress]?) throws(Rejection) {
        let message: RawMessage
        do {
            message = try RawMessage(normalizing: input)
        } catch {
            throw Rejection(error.description)
        }
        try self.init(normalized: consume message, context: context, envelopeSender: envelopeSender,
                      envelopeRecipients: envelopeRecipients)
    }

    /// The same, for a message already normalized (and checked against the header limits) by
    /// ``RawMessage/init(normalizing:)``: a large message is not normalized twice.
    init(normalized: consuming RawMessage, context: Context, envelopeSender: EmailAddress?,
         envelopeRecipients: [EmailAddress]?) throws(Rejection) {
        var message = consume normalized  // the only reference: header edits happen in place
        let structure = MIMEStructure(message.bytes)
        if structure.exceedsMaximumDepth {
            throw Rejection("MIME parts are nested more than \(MIMEStructure.maximumDepth) levels deep")
        }
        if structure.exceedsMaximumParts {
            throw Rejection("the message has more than \(MIMEStructure.maximumParts) MIME parts")
        }

        let from = envelopeSender == nil ? try Self.addresses(in: message, field: "From") : []
        let senderField = envelopeSender == nil ? try Self.addresses(in: message, field: "Sender") : []
        let sender: EmailAddress
        if let envelopeSender {
            sender = envelopeSender
            if message.values(of: "From").isEmpty { message.appendField(name: "From", value: envelopeSender.value) }
        } else if from.count > 1, let first = senderField.first {
            sender = first
        } else if let first = from.first {
            sender = first
        } else if let fallback = context.defaultSender {
            sender = fallback
            message.appendField(name: "From", value: fallback.value)
        } else {
            throw Rejection("no sender: the message has no From: header and smtp.from is not set")
        }

        var recipients: [EmailAddress] = envelopeRecipients ?? []
        if envelopeRecipients == nil {
            var seen = Set<String>()
            for field in ["To", "Cc", "Bcc"] {
                for address in try Self.addresses(in: message, field: field) where seen.insert(address.value.lowercased()).inserted {
                    recipients.append(address)
                    if recipients.count > Self.maximumRecipients { throw Self.tooManyRecipients("To:, Cc: and Bcc:") }
                }
            }
        }
        guard !recipients.isEmpty else { throw Rejection("no recipients: To:, Cc: and Bcc: are empty or missing") }

        message.removeFields(named: "Bcc")
        if message.values(of: "Date").isEmpty {
            message.appendField(name: "Date", value: RFC5322Date.format(context.now))
        }
        if message.values(of: "Message-ID").isEmpty {
            message.appendField(name: "Message-ID", value: "<\(context.uniqueToken)@\(context.hostname)>")
        }
        self.envelope = Envelope(sender: sender, recipients: recipients)
        self.content = message
    }

    private static func addresses(in message: RawMessage, field: String) throws(Rejection) -> [EmailAddress] {
        var result: [EmailAddress] = []
        for value in message.values(of: field) {
            for spec in AddressList.addrSpecs(in: value) {
                do {
                    result.append(try EmailAddress(spec))
                } catch {
                    throw Rejection("invalid address in \(field): \"\(spec.printableExcerpt)\": \(error)")
                }
            }
        }
        return result
    }
}
