/// What one delivery attempt means for the message and each recipient it was sent to: who got it,
/// who is refused for good, who waits (and until when), and whether a settings problem is to blame.
///
/// Pure: the dispatcher sends, passes the ``TransactionResult`` in with the message's history and
/// the clock, and stores what comes out; every rule lives here and is unit-tested with a table of
/// server replies (`AttemptDecisionTests`).
///
/// The rules:
/// - Each recipient keeps what the transaction said (``RecipientResult``): sent, failed (5xx), or
///   queued (4xx, no reply, connection problems).
/// - Anyone queued: the message is deferred to the next attempt from the ``RetryPolicy``, and its
///   last error is why the first of them waits.
/// - Past `delivery.lifetime` (``RetryPolicy/decision(afterAttempt:queuedAt:now:random:)``) the
///   queued recipients fail "gave up after n attempts", and so do the recipients of batches never
///   tried; the message is sent if anyone ever got it, else failed.
/// - **Settings problems never fail users' mail:** when the outcome is a ``DeliveryOutcome/Kind/configuration``
///   problem (login refused, TLS, unresolvable host) nobody is failed for the lifetime, whatever the
///   batch; the message is tried again at the longest interval, and the outcome stays the settings
///   problem (STATUS shows it).
/// - Recipient batches (`delivery.max_recipients_per_transaction`): when everyone of this batch is
///   decided and others wait untried, the message is due again at once (``continues``).
public struct AttemptDecision: Sendable, Hashable {
    /// What the history and `last_error` record for this attempt.
    public var outcome: DeliveryOutcome
    /// The message's state after this attempt.
    public var newState: QueueState
    /// For `deferred`: when to try again.
    public var nextAttemptAt: UnixTime?
    /// Each recipient of this transaction, decided (indices into its envelope's recipients).
    public var recipients: [RecipientResult]
    /// This batch is decided and more recipients wait untried: the next batch is due now.
    public var continues: Bool

    /// Whether this attempt failed because of our settings (the mail is kept, the admin told).
    public var isSettingsProblem: Bool { outcome.kind == .configuration }

    /// - Parameters:
    ///   - transaction: what the server (or the client library) said.
    ///   - attempt: this attempt's number, 1-based.
    ///   - queuedAt: when the message was queued (the lifetime counts from there).
    ///   - alreadySent: recipients earlier attempts delivered to.
    ///   - untried: recipients left out of this transaction (later batches).
    ///   - startedAt: when this attempt started (a continuing message is due again from then).
    ///   - now: when the attempt ended (retries count from then).
    ///   - retry: `delivery.*` backoff and lifetime.
    ///   - random: a number in `0..<1` the caller drew, for the retry's jitter.
    public init(
        _ transaction: TransactionResult, attempt: Int, queuedAt: UnixTime, alreadySent: Int, untried: Int,
        startedAt: UnixTime, now: UnixTime, retry: RetryPolicy, random: Double
    ) {
        outcome = transaction.outcome
        recipients = transaction.recipients
        newState = RecipientResult.messageState(after: recipients, alreadySent: alreadySent)
        nextAttemptAt = nil
        continues = false
        if newState != .deferred && untried > 0 {
            // Every recipient of this batch is decided: the next batch is due at once.
            newState = .deferred
            nextAttemptAt = startedAt
            continues = true
            return
        }
        guard newState == .deferred else { return }
        if !isSettingsProblem, let pending = recipients.first(where: { $0.state == .queued }) {
            // Delivered to or refused for some, put off for others: the message waits for those,
            // and its last error is why.
            outcome = .temporaryFailure(reason: pending.reply)
        }
        switch retry.decision(afterAttempt: attempt, queuedAt: queuedAt, now: now, random: random) {
        case .retry(let at):
            nextAttemptAt = at
        case .giveUp where isSettingsProblem:
            // Our settings are wrong, not the mail: keep trying at the longest interval.
            nextAttemptAt = now + retry.maximumDelay
        case .giveUp:
            let reason = "gave up after \(attempt) attempts (delivery.lifetime)"
            for index in recipients.indices where recipients[index].state == .queued {
                recipients[index].state = .failed
                recipients[index].reply = "\(reason): \(recipients[index].reply)"
            }
            newState = RecipientResult.messageState(after: recipients, alreadySent: alreadySent)
            if untried > 0 {
                // The batches not tried yet are past the lifetime too: the queue fails them
                // (recorded with the message's final state), as it does a whole message.
                let anyoneGotIt = alreadySent > 0 || recipients.contains { $0.state == .sent }
                newState = anyoneGotIt ? .sent : .failed
            }
            if newState == .failed || untried > 0 {
                outcome = .permanentFailure(reason: "\(reason): \(outcome.text)")
            }
        }
    }
}
