/// What one attempt meant for one recipient of the message.
///
/// With RCPT failures allowed (libcurl's `CURLOPT_MAIL_RCPT_ALLLOWFAILS`) one transaction can
/// deliver to some recipients, refuse others for good and put off the rest: each is recorded on
/// its own, so an accepted recipient never gets the mail twice and a refused one is not retried.
public struct RecipientResult: Sendable, Hashable {
    /// Where the recipient stands after the attempt.
    public enum State: String, Sendable, Hashable {
        /// The server took the message for this recipient.
        case sent
        /// Refused for good (5xx to RCPT TO, or to the message itself).
        case failed
        /// Not done yet: tried again with the next attempt.
        case queued
    }

    /// The recipient's index in the attempt's ``Envelope/recipients``.
    public var index: Int
    public var state: State
    /// The server's reply for this recipient (or the reason the transaction stopped).
    public var reply: String

    public init(index: Int, state: State, reply: String) {
        self.index = index
        self.state = state
        self.reply = reply
    }
}

extension SMTPExchange {
    /// Each of `count` recipients' result, from the RCPT replies and how the transaction ended.
    ///
    /// - The message was accepted (2xx after the final dot): recipients whose RCPT got 2xx are
    ///   sent, 5xx failed, 4xx (or no reply) queued.
    /// - The message itself was refused for good (5xx to DATA or after the dot): recipients the
    ///   server had accepted fail with that reply; 4xx RCPTs stay queued.
    /// - Otherwise nothing was delivered: 5xx RCPTs fail, everyone else stays queued — a lost
    ///   connection after the dot included (possibly delivered, so retried rather than failed).
    public func recipientResults(count: Int, outcome: DeliveryOutcome) -> [RecipientResult] {
        let rcpt = Dictionary(
            replies.filter { $0.stage == .recipient && $0.recipientIndex != nil }.map { ($0.recipientIndex!, $0) },
            uniquingKeysWith: { _, last in last })
        let messageRefusal = replies.first { ($0.stage == .data || $0.stage == .endOfData) && $0.code >= 500 }
        return (0..<count).map { index in
            guard let reply = rcpt[index] else {
                // No RCPT reply: the transaction ended before (or a 5xx to MAIL FROM refused it all).
                return RecipientResult(index: index, state: outcome.kind == .permanent ? .failed : .queued, reply: outcome.text)
            }
            if reply.code >= 500 { return RecipientResult(index: index, state: .failed, reply: reply.text) }
            if reply.code >= 400 { return RecipientResult(index: index, state: .queued, reply: reply.text) }
            switch outcome {
            case .delivered(let text):
                return RecipientResult(index: index, state: .sent, reply: text)
            case .permanentFailure where messageRefusal != nil:
                return RecipientResult(index: index, state: .failed, reply: messageRefusal!.text)
            default:
                return RecipientResult(index: index, state: .queued, reply: outcome.text)
            }
        }
    }
}

extension RecipientResult {
    /// The message's state once an attempt's recipient results are stored.
    ///
    /// Sent when nobody is left queued and at least one recipient got it (now or in an earlier
    /// attempt: `alreadySent`); failed when nobody is left queued and nobody got it; deferred
    /// while anyone is still queued.
    public static func messageState(after results: [RecipientResult], alreadySent: Int) -> QueueState {
        if results.contains(where: { $0.state == .queued }) { return .deferred }
        return alreadySent > 0 || results.contains(where: { $0.state == .sent }) ? .sent : .failed
    }
}
