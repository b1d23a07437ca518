/// What happened in one SMTP transaction, transport-neutral: the replies by stage and, when the
/// client library gave up, its error. The input of ``DeliveryOutcome/init(_:)``.
///
/// The middle one of the conversation's three shapes (see ``TransactionResult``): the Curl
/// wrapper's `SMTPTranscript` knows command verbs and CURLcodes but no mail rules, and this knows
/// stages and failure kinds but no libcurl; OutboxDelivery translates one into the other.
public struct SMTPExchange: Sendable, Hashable {
    public struct Reply: Sendable, Hashable {
        public var stage: SMTPStage
        public var code: Int
        public var text: String
        public var recipientIndex: Int?

        public init(stage: SMTPStage, code: Int, text: String, recipientIndex: Int? = nil) {
            self.stage = stage
            self.code = code
            self.text = text
            self.recipientIndex = recipientIndex
        }
    }

    /// Why the client library stopped, when it did not succeed.
    public enum Failure: Sendable, Hashable {
        case resolve(String)             // DNS
        case connect(String)             // refused, unreachable
        case timeout(String)
        case connectionLost(String)      // reset, closed
        case startTLSNotOffered(String)  // the server lacks STARTTLS and it is required
        case tls(String)                 // handshake or certificate
        case loginDenied(String)
        case other(String)
    }

    public var replies: [Reply]
    /// True once the whole message had been handed over (the final dot was sent or about to be).
    public var bodySent: Bool
    public var failure: Failure?

    public init(replies: [Reply], bodySent: Bool, failure: Failure?) {
        self.replies = replies
        self.bodySent = bodySent
        self.failure = failure
    }
}

extension DeliveryOutcome {
    /// Classifies a whole transaction. Pure; unit-tested in OutboxCoreTests.
    ///
    /// The server's own words win: the first 4xx/5xx reply decides (with its stage). Without one,
    /// the client's failure decides: TLS, STARTTLS and login problems are our configuration;
    /// DNS, refused connections and timeouts are temporary; a connection lost after the body was
    /// sent is temporary and flagged "possibly delivered".
    public init(_ exchange: SMTPExchange) {
        let endReply = exchange.replies.last { $0.stage == .endOfData }
        if exchange.failure == nil, let endReply, endReply.code < 400 {
            self = .delivered(reply: endReply.text)
            return
        }
        // Rejected recipients are reported per recipient (RCPT ALLOWFAILS); the transaction fails
        // on the first refusal that is not one.
        let rcptReplies = exchange.replies.filter { $0.stage == .recipient }
        let anyRecipientAccepted = rcptReplies.contains { $0.code < 400 }
        if let refusal = exchange.replies.first(where: { $0.code >= 400 && !($0.stage == .recipient && anyRecipientAccepted) }) {
            if refusal.stage == .recipient, refusal.code >= 500, rcptReplies.allSatisfy({ $0.code >= 500 }) {
                self = .permanentFailure(reason: refusal.text)
            } else if refusal.stage == .recipient {
                self = .temporaryFailure(reason: refusal.text)
            } else {
                self = DeliveryOutcome(smtpReplyCode: refusal.code, text: refusal.text, stage: refusal.stage)
            }
            return
        }
        switch exchange.failure {
        case .startTLSNotOffered(let detail):
            self = .configurationError(reason: "the server does not offer STARTTLS, so nothing was sent (smtp.start_tls is true): \(detail)")
        case .tls(let detail):
            self = .configurationError(reason: "TLS failed: \(detail) — if the server's certificate is self-signed or names another host, list the host in smtp.ssl_trust")
        case .loginDenied(let detail):
            self = .configurationError(reason: "authentication failed (\(detail)) — check smtp.username / smtp.password")
        case .resolve(let detail):
            // A name that does not resolve is most often a mistyped smtp.host (NXDOMAIN); a resolver
            // that is down says the same. Either way the mail is kept and retried, never failed,
            // and STATUS tells the admin where to look.
            self = .configurationError(reason: "cannot resolve the relay's name (\(detail)) — check smtp.host")
        case .connect(let detail), .timeout(let detail), .connectionLost(let detail), .other(let detail):
            if exchange.bodySent && endReply == nil {
                self = .temporaryFailure(reason: "connection lost after the message was sent, possibly delivered: \(detail)")
            } else {
                self = .temporaryFailure(reason: detail)
            }
        case nil:
            // libcurl reported success without a reply to the final dot: treat as unknown.
            self = .temporaryFailure(reason: "no reply to the end of the message, possibly delivered")
        }
    }
}
