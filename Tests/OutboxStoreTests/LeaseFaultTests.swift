import Foundation
import OutboxCore
import OutboxStore
import Testing

/// Leases under the faults real hosts have (issue 17): sends longer than the lease, wall-clock
/// steps, killed daemons; and poison-message containment (issue 14).
@Suite("Leases that a live send cannot lose, and messages that crash their sender")
struct LeaseFaultTests {
    let t0 = UnixTime(seconds: 1_800_000_000)
    let sixDays = Duration.seconds(6 * 86_400)

    func enqueue(_ store: QueueStore, to recipients: [String], name: String) async throws -> QueueID {
        let text = "From: sender@example.org\nTo: \(recipients.joined(separator: ", "))\nSubject: s\n\nbody\n"
        let message = try IncomingMessage(eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: t0, uniqueToken: name))
        return try await store.enqueue(message, spoolName: name, now: t0).queueID
    }

    func entry(_ store: QueueStore, _ id: QueueID) async throws -> QueueEntry {
        try #require(try await store.list(filter: QueueFilter(ids: [id]), now: t0).first)
    }

    /// A 451 at `t0`, next attempt `after` later.
    func deferred(after delay: Duration) -> AttemptRecord {
        AttemptRecord(startedAt: t0, duration: .seconds(1), server: "relay",
                      outcome: .temporaryFailure(reason: "451 later"), newState: .deferred, nextAttemptAt: t0 + delay)
    }

    func delivered(at time: UnixTime) -> AttemptRecord {
        AttemptRecord(startedAt: time, duration: .seconds(700), server: "relay", outcome: .delivered(reply: "250 2.0.0 queued"),
                      newState: .sent, nextAttemptAt: nil)
    }

    @Test("A running worker's lease is never taken by another worker, whatever the wall clock says")
    func liveLeaseSurvivesClockStep() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let id = try await enqueue(store, to: ["a@example.org"], name: "1.eml")
        let judge: LeaseOwnerJudge = { $0 == "d/w1" ? .alive : .gone }
        let first = try await store.claimDue(limit: 1, now: t0, owner: "d/w1", leaseFor: .seconds(600), judge: judge)
        #expect(first.map(\.id) == [id])
        // Past the 600 s lease (a slow relay), and after a step of six days: still not claimable.
        for later in [t0 + .seconds(601), t0 + sixDays] {
            #expect(try await store.claimDue(limit: 4, now: later, owner: "d/w2", leaseFor: .seconds(600), judge: judge).isEmpty)
        }
        #expect(try await store.finish(id, owner: "d/w1", attempt: delivered(at: t0 + sixDays)))
        #expect(try await entry(store, id).state == .sent)
        #expect(try await store.attempts(of: id).count == 1)
    }

    @Test("Only the worker that claimed a message can record it under its lease")
    func perWorkerOwner() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let id = try await enqueue(store, to: ["a@example.org"], name: "1.eml")
        _ = try await store.claimDue(limit: 1, now: t0, owner: "d/w1", leaseFor: .seconds(600))
        let deferred = deferred(after: .seconds(300))
        #expect(try await store.finish(id, owner: "d/w2", attempt: deferred) == false, "another worker of the same daemon")
        #expect(try await entry(store, id).inFlight, "w1's lease stands")
        #expect(try await store.finish(id, owner: "d/w1", attempt: delivered(at: t0)))
        #expect(try await entry(store, id).state == .sent)
    }

    @Test("A send that outlived its lease is recorded truthfully: its recipients are never sent to again")
    func lostLeaseRecordedTruthfully() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let id = try await enqueue(store, to: ["a@example.org", "b@example.org"], name: "1.eml")
        // An owner that cannot be judged (another host's): the lease's expiry decides.
        _ = try await store.claimDue(limit: 1, now: t0, owner: "other:1:x", leaseFor: .seconds(600))
        _ = try await store.apply(.hold, to: [id], now: t0 + .seconds(601))
        #expect(try await entry(store, id).state == .held)
        // The slow send ends well after the admin's hold.
        #expect(try await store.finish(id, owner: "other:1:x", attempt: delivered(at: t0)) == false)
        let held = try await entry(store, id)
        #expect(held.state == .held, "the admin's hold stands")
        #expect(held.recipients.map(\.state) == ["sent", "sent"])
        #expect(try await store.attempts(of: id).map(\.reply) == ["250 2.0.0 queued"])
        // Released, it is finished without a second send.
        _ = try await store.apply(.release, to: [id], now: t0 + .seconds(700))
        #expect(try await store.claimDue(limit: 1, now: t0 + .seconds(700), owner: "d/w1", leaseFor: .seconds(600)).isEmpty)
        #expect(try await entry(store, id).state == .sent)
    }

    @Test("A lease whose daemon is gone is taken over at once; the second unclean stop in a row holds the message")
    func poisonMessageHeld() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let id = try await enqueue(store, to: ["a@example.org"], name: "1.eml")
        let other = try await enqueue(store, to: ["b@example.org"], name: "2.eml")
        let allGone: LeaseOwnerJudge = { _ in .gone }
        // Daemon 1 claims both, and is killed.
        #expect(try await store.claimDue(limit: 2, now: t0, owner: "h:1:a/w1", leaseFor: .seconds(600)).count == 2)
        #expect(try await store.recoverLeases(judge: allGone) == RecoveredLeases(released: 2, held: []))
        // Daemon 2 claims the first; the second is sent and recorded; then daemon 2 is killed too.
        let again = try await store.claimDue(limit: 2, now: t0 + .seconds(1), owner: "h:2:b/w1", leaseFor: .seconds(600))
        #expect(Set(again.map(\.id)) == [id, other])
        #expect(try await store.finish(other, owner: "h:2:b/w1", attempt: delivered(at: t0)))
        #expect(try await store.recoverLeases(judge: allGone) == RecoveredLeases(released: 0, held: [id]))
        let held = try await entry(store, id)
        #expect(held.state == .held)
        #expect(held.lastError == "held after 2 unclean stops while sending it")
        #expect(try await store.heldAsPoison().ids == [id])
        #expect(try await store.claimDue(limit: 2, now: t0 + .seconds(2), owner: "h:3:c/w1", leaseFor: .seconds(600)).isEmpty)
        // An admin releases it: it is tried again, and counting starts over.
        _ = try await store.apply(.release, to: [id], now: t0 + .seconds(3))
        #expect(try await store.claimDue(limit: 1, now: t0 + .seconds(3), owner: "h:3:c/w1", leaseFor: .seconds(600)).map(\.id) == [id])
        #expect(try await store.recoverLeases(judge: allGone) == RecoveredLeases(released: 1, held: []))
    }

    @Test("A recorded attempt resets the count: unclean stops must be in a row to hold a message")
    func uncleanStopsInARow() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let id = try await enqueue(store, to: ["a@example.org"], name: "1.eml")
        let gone: LeaseOwnerJudge = { $0.hasPrefix("dead") ? .gone : .alive }
        _ = try await store.claimDue(limit: 1, now: t0, owner: "dead1", leaseFor: .seconds(600))
        // A second live daemon takes over the dead one's lease at once (no waiting for the expiry).
        #expect(try await store.claimDue(limit: 1, now: t0 + .seconds(1), owner: "live", leaseFor: .seconds(600), judge: gone).map(\.id) == [id])
        let deferred = deferred(after: .zero)
        #expect(try await store.finish(id, owner: "live", attempt: deferred))
        _ = try await store.claimDue(limit: 1, now: t0 + .seconds(2), owner: "dead2", leaseFor: .seconds(600))
        #expect(try await store.recoverLeases(judge: gone) == RecoveredLeases(released: 1, held: []))
        #expect(try await entry(store, id).state == .deferred)
    }

    @Test("A next attempt further ahead than the longest retry delay is due at once (the clock went back)")
    func clockWentBack() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let id = try await enqueue(store, to: ["a@example.org"], name: "1.eml")
        _ = try await store.claimDue(limit: 1, now: t0, owner: "w", leaseFor: .seconds(600))
        let deferred = deferred(after: .seconds(600))
        #expect(try await store.finish(id, owner: "w", attempt: deferred))
        let stepped = t0 - sixDays
        #expect(try await store.claimDue(limit: 1, now: stepped, owner: "w", leaseFor: .seconds(600), overdueAfter: .seconds(4_000)).map(\.id) == [id])
        // Before the step, the same message is simply not due yet.
        _ = try await store.release(id, owner: "w")
        #expect(try await store.claimDue(limit: 1, now: t0 + .seconds(1), owner: "w", leaseFor: .seconds(600), overdueAfter: .seconds(4_000)).isEmpty)
    }

    @Test("An idle worker does not wake for leases that ran out (a live worker's send outlasting its lease)")
    func nextDueIgnoresExpiredLeases() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        _ = try await enqueue(store, to: ["a@example.org"], name: "1.eml")
        _ = try await store.claimDue(limit: 1, now: t0, owner: "w", leaseFor: .seconds(600))
        #expect(try await store.nextDueTime(now: t0 + .seconds(1)) == t0 + .seconds(600))
        #expect(try await store.nextDueTime(now: t0 + .seconds(700)) == nil)
    }
}
