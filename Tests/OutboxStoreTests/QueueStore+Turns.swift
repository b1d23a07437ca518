import Dispatch
import OutboxCore
@testable import OutboxStore

/// Claims and records through ``QueueStore/takeTurns(_:now:owner:leaseFor:judge:overdueAfter:)``,
/// the store's one production path (``DeliveryLedger`` batches workers' turns into it), one
/// transaction per call, on a Dispatch queue (it blocks its thread, as on a delivery lane).
extension QueueStore {
    /// Leases up to `limit` due messages to `owner`: `limit` turns that each claim, in one commit.
    func claimDue(limit: Int, now: UnixTime, owner: String, leaseFor duration: Duration,
                  judge: @escaping LeaseOwnerJudge = { _ in .unknown }, overdueAfter: Duration? = nil) async throws -> [ClaimedMessage] {
        let turns = Array(repeating: DeliveryTurn(finishing: nil, claims: true, owner: owner), count: limit)
        return try await offThePool {
            try self.takeTurns(turns, now: now, owner: owner, leaseFor: duration, judge: judge, overdueAfter: overdueAfter)
        }.compactMap(\.claimed)
    }

    /// Records `attempt` for `id` under `owner`'s lease; false when the lease was lost.
    @discardableResult
    func finish(_ id: QueueID, owner: String, attempt: AttemptRecord) async throws -> Bool {
        let turn = DeliveryTurn(finishing: (id: id, attempt: attempt), claims: false, owner: owner)
        let results = try await offThePool {
            try self.takeTurns([turn], now: attempt.startedAt, owner: owner, leaseFor: .seconds(60))
        }
        return results[0].recorded ?? false
    }

    private func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}
