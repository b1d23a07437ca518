import Dispatch
import OutboxCore
import OutboxStore
import Synchronization

/// Group commit for delivery workers: every worker's turn (record the attempt just made, lease
/// the next message) goes through here, and the turns that arrive while a commit is running all
/// share the next one. With `n` busy workers a commit (and its fsync) serves up to `n` messages
/// instead of two commits per message, and `synchronous = FULL` still holds: a worker's turn
/// returns only after its outcome is on disk.
///
/// A worker waits for its outcome's commit before it sends anything else, so each SMTP
/// connection has at most one message between the server's final 250 and our commit: a crash
/// can duplicate at most one message per worker.
///
/// ``take(_:)`` blocks its thread: workers call it from their lanes' dedicated threads, where the
/// first waiting worker commits everyone's turns itself (no thread hop), and the others sleep
/// until their turn is on disk.
///
/// It lives beside ``DeliveryDispatcher``, its only user; the transaction itself is the store's
/// ``QueueStore/takeTurns(_:now:owner:leaseFor:judge:overdueAfter:)``.
final class DeliveryLedger: Sendable {
    private let store: QueueStore
    private let owner: String
    private let leaseDuration: Duration
    private let now: @Sendable () -> UnixTime
    private let judge: LeaseOwnerJudge
    private let overdueAfter: Duration?
    private let state = Mutex(State())

    private struct State {
        var waiting: [Waiter] = []
        /// Whether some worker is committing (then new turns wait for it to take them).
        var committing = false
    }

    private final class Waiter: @unchecked Sendable {  // `answer` is written before `wake` is signalled, read after
        let turn: DeliveryTurn
        var answer: Answer?
        let wake = DispatchSemaphore(value: 0)

        enum Answer {
            case done(Result<DeliveryTurn.Result, any Error>)
            /// The committing worker is done with its own turn: this one commits next.
            case commit
        }

        init(_ turn: DeliveryTurn) { self.turn = turn }
    }

    /// - Parameters:
    ///   - owner: the lease owner id of turns that do not name their own (``DeliveryTurn/owner``).
    ///   - now: read when a commit starts (claims compare due times with it).
    ///   - judge: whether a lease's owner still runs (see ``LeaseOwnerStatus``).
    ///   - overdueAfter: `delivery.max_retry_delay`: a next attempt further ahead is due now (the
    ///     clock went back).
    init(store: QueueStore, owner: String, leaseDuration: Duration, now: @escaping @Sendable () -> UnixTime,
                judge: @escaping LeaseOwnerJudge = { _ in .unknown }, overdueAfter: Duration? = nil) {
        self.store = store
        self.owner = owner
        self.leaseDuration = leaseDuration
        self.now = now
        self.judge = judge
        self.overdueAfter = overdueAfter
    }

    /// Records `turn.finishing` (when given) and leases one due message (when `turn.claims`),
    /// committed together with whatever other workers asked for meanwhile. Blocks the calling
    /// thread until that commit is done: never call it from Swift's cooperative pool.
    func take(_ turn: DeliveryTurn) throws -> DeliveryTurn.Result {
        let me = Waiter(turn)
        let commitsNow = state.withLock { state in
            state.waiting.append(me)
            guard !state.committing else { return false }
            state.committing = true
            return true
        }
        if !commitsNow {
            me.wake.wait()
            if case .done(let result) = me.answer { return try result.get() }
        }
        // This worker commits: everyone waiting (itself included), then it hands the job on.
        let batch = state.withLock { state in
            defer { state.waiting = [] }
            return state.waiting
        }
        let results = Result { try store.takeTurns(batch.map(\.turn), now: now(), owner: owner, leaseFor: leaseDuration,
                                                  judge: judge, overdueAfter: overdueAfter) }
        var mine: Result<DeliveryTurn.Result, any Error>?
        for (index, waiter) in batch.enumerated() {
            let result = results.map { $0[index] }
            if waiter === me {
                mine = result
            } else {
                waiter.answer = .done(result)
                waiter.wake.signal()
            }
        }
        let next = state.withLock { state -> Waiter? in
            if state.waiting.isEmpty { state.committing = false }
            return state.waiting.first
        }
        if let next {
            next.answer = .commit
            next.wake.signal()
        }
        guard let mine else { preconditionFailure("a committing worker's own turn was not in its batch") }
        return try mine.get()
    }
}
