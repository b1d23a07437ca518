import OutboxCore

/// The workers' shared ``SendingRateLimit``: a worker takes a slot before it claims a message,
/// waiting while the window is full, and gives it back when nothing was due.
actor RateGate {
    private var limit: SendingRateLimit
    /// Time since the gate was made, on the injected clock.
    private let elapsed: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) async throws -> Void

    init(messagesPerMinute: Int) {
        self.init(messagesPerMinute: messagesPerMinute, clock: ContinuousClock())
    }

    /// - Parameter clock: measures the window and sleeps; tests pass one they advance by hand.
    init<C: Clock<Duration>>(messagesPerMinute: Int, clock: C) {
        limit = SendingRateLimit(limit: messagesPerMinute)
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
        sleep = { try await clock.sleep(for: $0) }
    }

    /// Waits for a free slot and takes it. Throws `CancellationError` when the task is cancelled.
    func acquire() async throws {
        while true {
            let wait = limit.reserve(at: elapsed())
            if wait == .zero { return }
            try await sleep(wait)
        }
    }

    func giveBack() {
        limit.cancelLastReservation()
    }
}
