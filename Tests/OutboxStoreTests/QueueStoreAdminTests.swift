import Foundation
import OutboxCore
import OutboxStore
import Testing

@Suite("Admin actions on a real SQLite file")
struct QueueStoreAdminTests {
    let t0 = UnixTime(seconds: 1_800_000_000)
    let owner = "host:1:abc"

    func enqueue(_ store: QueueStore, to: String, name: String) async throws -> QueueID {
        let text = "From: sender@example.org\nTo: \(to)\nSubject: s\n\nbody\n"
        let message = try IncomingMessage(eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: t0, uniqueToken: name))
        return try await store.enqueue(message, spoolName: name, now: t0).queueID
    }

    func state(_ store: QueueStore, _ id: QueueID) async throws -> QueueState? {
        try await store.list(filter: QueueFilter(ids: [id]), now: t0).first?.state
    }

    func record(_ outcome: DeliveryOutcome, newState: QueueState, next: UnixTime? = nil) -> AttemptRecord {
        AttemptRecord(startedAt: t0, duration: .milliseconds(5), server: "127.0.0.1:25", outcome: outcome,
                      newState: newState, nextAttemptAt: next)
    }

    @Test("A hold that commits before the claim wins: the daemon claims nothing and release makes it due again")
    func holdBeforeClaim() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let id = try await enqueue(store, to: "a@example.org", name: "1.eml")
        let held = try await store.apply(.hold, to: [id], now: t0)
        #expect(held.changed == [id])
        #expect(try await store.claimDue(limit: 10, now: t0 + .seconds(1), owner: owner, leaseFor: .seconds(600)).isEmpty)
        #expect(try await store.nextDueTime() == nil, "a held message is never due")

        let released = try await store.apply(.release, to: [id], now: t0 + .seconds(5))
        #expect(released.changed == [id])
        #expect(try await state(store, id) == .queued)
        #expect(try await store.claimDue(limit: 10, now: t0 + .seconds(5), owner: owner, leaseFor: .seconds(600)).map(\.id) == [id])
    }

    @Test("Hold, delete and retry of a claimed message report it in flight and change nothing; the send's outcome is recorded",
          arguments: [AdminAction.hold, .delete, .retry])
    func inFlight(action: AdminAction) async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let id = try await enqueue(store, to: "a@example.org", name: "1.eml")
        _ = try await store.claimDue(limit: 1, now: t0, owner: owner, leaseFor: .seconds(600))
        let change = try await store.apply(action, to: [id], now: t0 + .seconds(1))
        #expect(change.inFlight == [id])
        #expect(change.changed.isEmpty)
        #expect(try await store.finish(id, owner: owner, attempt: record(.delivered(reply: "250 ok"), newState: .sent)))
        #expect(try await state(store, id) == .sent)
    }

    @Test("Once a lease has expired (its daemon is gone) a hold applies again")
    func expiredLease() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let id = try await enqueue(store, to: "a@example.org", name: "1.eml")
        _ = try await store.claimDue(limit: 1, now: t0, owner: owner, leaseFor: .seconds(60))
        let change = try await store.apply(.hold, to: [id], now: t0 + .seconds(61))
        #expect(change.changed == [id])
        #expect(try await store.finish(id, owner: owner, attempt: record(.delivered(reply: "250 ok"), newState: .sent)) == false,
                "the stale sender finds its lease lost and cannot overwrite the hold")
        #expect(try await state(store, id) == .held)
    }

    @Test("Unknown ids and messages in the wrong state are reported apart; delete removes recipients and attempts too")
    func reportsAndDelete() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let id = try await enqueue(store, to: "a@example.org", name: "1.eml")
        let ghost = QueueID(rawValue: 99)
        let release = try await store.apply(.release, to: [id, ghost], now: t0)
        #expect(release.unknown == [ghost])
        #expect(release.skipped == [id: .queued])
        #expect(release.changed.isEmpty)

        let deleted = try await store.apply(.delete, to: [id], now: t0)
        #expect(deleted.changed == [id])
        #expect(try await store.message(id, now: t0) == nil)
        #expect(try await store.attempts(of: id).isEmpty)
        #expect(try await store.list(now: t0).isEmpty)
    }

    @Test("requeue turns a failed message into a queued one with no attempts, its recipients due again; history kept")
    func requeue() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let id = try await enqueue(store, to: "a@example.org", name: "1.eml")
        _ = try await store.claimDue(limit: 1, now: t0, owner: owner, leaseFor: .seconds(600))
        try await store.finish(id, owner: owner, attempt: record(.permanentFailure(reason: "550 no such user"), newState: .failed))
        let change = try await store.apply(.requeue, to: [id], now: t0 + .seconds(10))
        #expect(change.changed == [id])
        let detail = try #require(try await store.message(id, now: t0 + .seconds(10)))
        #expect(detail.entry.state == .queued)
        #expect(detail.entry.attempts == 0)
        #expect(detail.entry.lastError == nil)
        #expect(detail.entry.recipients.map(\.state) == ["queued"])
        #expect(detail.attempts.count == 1)
        let claimed = try await store.claimDue(limit: 1, now: t0 + .seconds(10), owner: owner, leaseFor: .seconds(600))
        #expect(claimed.first?.envelope.recipients.map(\.value) == ["a@example.org"])
    }

    @Test("flush makes only future deferred messages due; purge deletes finished ones by age of their last change")
    func flushAndPurge() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let deferred = try await enqueue(store, to: "a@example.org", name: "1.eml")
        let sent = try await enqueue(store, to: "b@example.org", name: "2.eml")
        for _ in 0..<2 {
            for message in try await store.claimDue(limit: 1, now: t0, owner: owner, leaseFor: .seconds(600)) {
                let rec = message.id == deferred
                    ? record(.temporaryFailure(reason: "421 busy"), newState: .deferred, next: t0 + .seconds(3600))
                    : record(.delivered(reply: "250 ok"), newState: .sent)
                try await store.finish(message.id, owner: owner, attempt: rec)
            }
        }
        #expect(try await store.flush(now: t0 + .seconds(1)) == [deferred])
        #expect(try await store.flush(now: t0 + .seconds(2)).isEmpty, "already due")
        #expect(try await store.nextDueTime() == t0 + .seconds(1))

        #expect(try await store.purge(state: .sent, olderThan: .seconds(86_400), now: t0 + .seconds(60)).isEmpty)
        #expect(try await store.purge(state: .sent, olderThan: .seconds(86_400), now: t0 + .seconds(86_401)) == [sent])
        #expect(try await store.list(now: t0).map(\.id) == [deferred])
    }

    @Test("Statistics count states, recent outcomes and failure replies")
    func statistics() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        for index in 0..<3 { _ = try await enqueue(store, to: "r\(index)@example.org", name: "\(index).eml") }
        let claimed = try await store.claimDue(limit: 3, now: t0, owner: owner, leaseFor: .seconds(600))
        try await store.finish(claimed[0].id, owner: owner, attempt: record(.delivered(reply: "250 ok"), newState: .sent))
        try await store.finish(claimed[1].id, owner: owner, attempt: record(.permanentFailure(reason: "550 no"), newState: .failed))
        let stats = try await store.statistics(now: t0 + .seconds(300))
        #expect(stats.counts[.sent] == 1)
        #expect(stats.counts[.failed] == 1)
        #expect(stats.counts[.queued] == 1)
        #expect(stats.inFlight == 1, "the third is still leased")
        #expect(stats.sentLastHour == 1 && stats.sentLastDay == 1)
        let later = try await store.statistics(now: t0 + .seconds(7200))
        #expect(later.sentLastHour == 0 && later.sentLastDay == 1)
        #expect(later.inFlight == 0, "the lease has run out")
        #expect(stats.failedLastDay == 1)
        #expect(stats.topFailureReasons.map(\.reason) == ["550 no"])
        #expect(stats.topFailureReasons.map(\.count) == [1])
        #expect(stats.counts.oldestWaiting == t0)
    }

    @Test("Filters select by state, sender, recipient (case-insensitive), age and limit")
    func filters() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let alice = try await enqueue(store, to: "Alice@Example.org", name: "1.eml")
        let bob = try await enqueue(store, to: "bob@example.org", name: "2.eml")
        _ = try await store.apply(.hold, to: [bob], now: t0)
        func ids(_ filter: QueueFilter, now: UnixTime? = nil) async throws -> [QueueID] {
            try await store.list(filter: filter, now: now ?? t0).map(\.id)
        }
        #expect(try await ids(QueueFilter(recipient: "alice@EXAMPLE")) == [alice])
        #expect(try await ids(QueueFilter(states: [.held])) == [bob])
        #expect(try await ids(QueueFilter(sender: "SENDER@")) == [alice, bob])
        #expect(try await ids(QueueFilter(limit: 1)) == [alice])
        #expect(try await ids(QueueFilter(olderThan: .seconds(60))).isEmpty)
        #expect(try await ids(QueueFilter(olderThan: .seconds(60)), now: t0 + .seconds(61)) == [alice, bob])
    }
}
