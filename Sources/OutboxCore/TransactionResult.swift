/// What one SMTP transaction did: its outcome for the message and each recipient's result.
///
/// The transport's whole answer, and the input of ``AttemptDecision``, which alone turns it into
/// states and retry times. One of the SMTP conversation's three shapes, each kept for one reader:
/// libcurl's `SMTPTranscript` (replies by command verb, in the Curl wrapper, which knows no mail
/// rules), ``SMTPExchange`` (the same replies by ``SMTPStage`` plus the client's failure,
/// transport-neutral, what classification reads) and this (the classification's result).
public struct TransactionResult: Sendable, Hashable {
    public var outcome: DeliveryOutcome
    /// One per recipient of the transaction's envelope, in its order (``RecipientResult/index``).
    public var recipients: [RecipientResult]

    public init(outcome: DeliveryOutcome, recipients: [RecipientResult]) {
        self.outcome = outcome
        self.recipients = recipients
    }

    /// Classifies `exchange` for `recipientCount` recipients; `outcome` overrides the
    /// classification of the whole transaction (e.g. a refused OAuth2 token is our settings).
    public init(_ exchange: SMTPExchange, recipientCount: Int, outcome: DeliveryOutcome? = nil) {
        let outcome = outcome ?? DeliveryOutcome(exchange)
        self.init(outcome: outcome, recipients: exchange.recipientResults(count: recipientCount, outcome: outcome))
    }

    /// No transaction was opened because of our settings (no OAuth2 token): everyone stays queued.
    public static func notAttempted(recipientCount: Int, reason: String) -> TransactionResult {
        TransactionResult(SMTPExchange(replies: [], bodySent: false, failure: nil), recipientCount: recipientCount,
                          outcome: .configurationError(reason: reason))
    }
}
