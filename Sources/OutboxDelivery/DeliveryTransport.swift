public import OutboxCore

/// Something that can send one message: the libcurl SMTP implementation in
/// production, the same in tests (against real servers). The dispatcher only sees results.
public protocol DeliveryTransport: Sendable {
    /// Sends one message in one SMTP transaction and says what happened to it and to each
    /// recipient. Never throws for the message's sake: every problem is an outcome
    /// (``AttemptDecision`` decides what it means).
    /// - Parameter lane: which worker is calling (each lane owns one connection).
    func send(_ envelope: Envelope, content: RawMessage, lane: Int) async -> TransactionResult

    /// Where lane `lane`'s caller should run: a dedicated thread (never Swift's cooperative pool,
    /// so the caller may block there), shared with the lane's connection so a send costs no
    /// thread switch.
    func taskExecutor(lane: Int) -> any TaskExecutor

    /// See the default implementation: nil unless the transport can tell a live transfer.
    func transferProgress(lane: Int) -> UInt64?

    /// A short description of the destination for logs and history (`smtp.example.org:587 STARTTLS`).
    var destination: String { get }
}

extension DeliveryTransport {
    /// A count that moves while lane `lane`'s transfer is alive (libcurl's progress callbacks);
    /// nil when the transport cannot tell. The dispatcher vouches for a sending lane to the
    /// watchdog only while it moves.
    public func transferProgress(lane: Int) -> UInt64? { nil }
}
