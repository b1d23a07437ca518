import Synchronization

/// Wakes idle delivery workers when there may be work (a message was queued, a reload happened)
/// instead of letting them wait for their next poll.
///
/// A waiter passes the generation it saw before looking for work, so a ring that happens between
/// "found nothing" and "wait" is not lost. The timeout runs on an injected clock, so tests wait
/// on one they advance by hand.
final class Doorbell: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())
    private let sleep: @Sendable (Duration) async throws -> Void

    convenience init() { self.init(clock: ContinuousClock()) }

    /// - Parameter clock: times a wait out; tests pass one they advance by hand.
    init<C: Clock<Duration>>(clock: C) {
        sleep = { try await clock.sleep(for: $0) }
    }

    var generation: UInt64 { state.withLock { $0.generation } }

    /// Wakes every waiter.
    func ring() {
        let waiters = state.withLock { state in
            state.generation &+= 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when rung after `generation`, after `timeout`, or when the task is cancelled.
    func wait(after generation: UInt64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.sleep(timeout) }
            group.addTask { await self.waitForRing(after: generation) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForRing(after generation: UInt64) async {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation != generation || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
