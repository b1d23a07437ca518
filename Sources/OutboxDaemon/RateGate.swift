import OutboxCore

/// The workers' shared ``SendingRateLimit``: a worker takes a slot before it claims a message,
/// waiting while the window is full, and gives it back when nothing was due.
actor RateGate {
    private var limit: SendingRateLimit
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant

    init(messagesPerMinute: Int) {
        limit = SendingRateLimit(limit: messagesPerMinute)
        origin = clock.now
    }

    /// Waits for a free slot and takes it. Throws `CancellationError` when the task is cancelled.
    func acquire() async throws {
        while true {
            let wait = limit.reserve(at: clock.now - origin)
            if wait == .zero { return }
            try await Task.sleep(for: wait)
        }
    }

    func giveBack() {
        limit.cancelLastReservation()
    }
}
