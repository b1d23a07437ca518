public import OutboxCore

/// Something that can attempt to deliver one message: the libcurl SMTP implementation in
/// production, the same in tests (against real servers). The dispatcher only sees outcomes.
public protocol DeliveryTransport: Sendable {
    /// Tries once; never throws for the message's sake — every problem is an outcome.
    /// - Parameter lane: which worker is calling (each lane owns one connection).
    func deliver(_ envelope: Envelope, content: RawMessage, lane: Int) async -> DeliveryOutcome

    /// A short description of the destination for logs and history (`smtp.example.org:587 STARTTLS`).
    var destination: String { get }
}
