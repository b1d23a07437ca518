public import OutboxCore

/// Something that can attempt to deliver one message: the libcurl SMTP implementation in
/// production, the same in tests (against real servers). The dispatcher only sees outcomes.
public protocol DeliveryTransport: Sendable {
    /// Tries once; never throws for the message's sake — every problem is an outcome.
    /// - Parameter lane: which worker is calling (each lane owns one connection).
    func deliver(_ envelope: Envelope, content: RawMessage, lane: Int) async -> DeliveryOutcome

    /// Tries once and says what happened to each recipient (see ``RecipientResult``).
    func attempt(_ envelope: Envelope, content: RawMessage, lane: Int) async -> DeliveryAttempt

    /// Where lane `lane`'s caller should run: a dedicated thread (never Swift's cooperative pool,
    /// so the caller may block there), shared with the lane's connection so a send costs no
    /// thread switch.
    func taskExecutor(lane: Int) -> any TaskExecutor

    /// See the default implementation: nil unless the transport can tell a live transfer.
    func transferProgress(lane: Int) -> UInt64?

    /// A short description of the destination for logs and history (`smtp.example.org:587 STARTTLS`).
    var destination: String { get }
}

/// One attempt's outcome for the message and for each of its recipients.
public struct DeliveryAttempt: Sendable, Hashable {
    public var outcome: DeliveryOutcome
    /// One per recipient of the envelope, in its order.
    public var recipients: [RecipientResult]

    public init(outcome: DeliveryOutcome, recipients: [RecipientResult]) {
        self.outcome = outcome
        self.recipients = recipients
    }
}

extension DeliveryTransport {
    /// A count that moves while lane `lane`'s transfer is alive (libcurl's progress callbacks);
    /// nil when the transport cannot tell. The dispatcher vouches for a sending lane to the
    /// watchdog only while it moves.
    public func transferProgress(lane: Int) -> UInt64? { nil }

    /// For transports that only know the whole message's outcome: every recipient shares it.
    public func attempt(_ envelope: Envelope, content: RawMessage, lane: Int) async -> DeliveryAttempt {
        let outcome = await deliver(envelope, content: content, lane: lane)
        let state: RecipientResult.State =
            switch outcome.kind {
            case .delivered: .sent
            case .permanent: .failed
            case .temporary, .configuration: .queued
            }
        return DeliveryAttempt(
            outcome: outcome,
            recipients: envelope.recipients.indices.map { RecipientResult(index: $0, state: state, reply: outcome.text) })
    }
}
