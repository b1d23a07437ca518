import Foundation
import GRDB
import OutboxCore
import OutboxStore
import Testing

/// A fresh queue file in its own temporary directory, removed afterwards.
struct TemporaryQueue: ~Copyable {
    let directory: URL
    var path: String { directory.appendingPathComponent("queue.sqlite3").path }

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-store-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

@Suite("Queue store on a real SQLite file")
struct QueueStoreTests {
    let t0 = UnixTime(seconds: 1_800_000_000)

    func message(_ to: String...) throws -> IncomingMessage {
        let text = "From: sender@example.org\nTo: \(to.joined(separator: ", "))\nSubject: s\n\nbody\n"
        return try IncomingMessage(eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: t0, uniqueToken: "u"))
    }

    @Test("An enqueued message survives closing and reopening the file, with its recipients")
    func durable() async throws {
        let queue = TemporaryQueue()
        do {
            let store = try QueueStore(path: queue.path)
            let result = try await store.enqueue(try message("a@example.org", "b@example.org"), spoolName: "one.eml", now: t0)
            #expect(result == .inserted(QueueID(rawValue: 1)))
        }
        let reopened = try QueueStore(path: queue.path)
        let entries = try await reopened.list(now: t0)
        #expect(entries.count == 1)
        #expect(entries[0].state == .queued)
        #expect(entries[0].recipients.map(\.address) == ["a@example.org", "b@example.org"])
        #expect(entries[0].sender == "sender@example.org")
    }

    @Test("Counts per state follow every insert, state change and delete")
    func countsFollowChanges() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        for index in 0..<6 { _ = try await store.enqueue(try message("a@example.org"), spoolName: "\(index).eml", now: t0) }
        let claimed = try await store.claimDue(limit: 3, now: t0, owner: "A", leaseFor: .seconds(60))
        for (index, message) in claimed.enumerated() {
            let state: QueueState = [.sent, .failed, .deferred][index]
            try await store.finish(message.id, owner: "A", attempt: AttemptRecord(
                startedAt: t0, duration: .milliseconds(5), server: "s", outcome: .delivered(reply: "250 ok"), newState: state,
                nextAttemptAt: state == .deferred ? t0 + .seconds(60) : nil))
        }
        _ = try await store.apply(.hold, to: [QueueID(rawValue: 4)], now: t0)
        _ = try await store.apply(.delete, to: [QueueID(rawValue: 5), QueueID(rawValue: 1)], now: t0)
        var expected: [QueueState: Int] = [:]
        for entry in try await store.list(now: t0) { expected[entry.state, default: 0] += 1 }
        #expect(expected == [.failed: 1, .deferred: 1, .held: 1, .queued: 1])
        #expect(try await store.counts().byState == expected)
    }

    @Test("Enqueuing the same spool file twice adds nothing (a crash between commit and unlink)")
    func idempotent() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let first = try await store.enqueue(try message("a@example.org"), spoolName: "same.eml", now: t0)
        let second = try await store.enqueue(try message("a@example.org"), spoolName: "same.eml", now: t0)
        #expect(second == .alreadyQueued(first.queueID))
        #expect(try await store.counts()[.queued] == 1)
    }

    @Test("A claimed message is leased: nobody else claims it until the lease ends")
    func leases() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        _ = try await store.enqueue(try message("a@example.org"), spoolName: "m.eml", now: t0)
        let claimed = try await store.claimDue(limit: 10, now: t0, owner: "A", leaseFor: .seconds(60))
        #expect(claimed.map(\.id) == [QueueID(rawValue: 1)])
        #expect(claimed.first?.envelope.recipients.map(\.value) == ["a@example.org"])
        #expect(try await store.claimDue(limit: 10, now: t0 + .seconds(59), owner: "B", leaseFor: .seconds(60)).isEmpty)
        // A second daemon opening the same file sees the lease too.
        let other = try QueueStore(path: queue.path)
        #expect(try await other.claimDue(limit: 10, now: t0 + .seconds(30), owner: "B", leaseFor: .seconds(60)).isEmpty)
        let afterExpiry = try await other.claimDue(limit: 10, now: t0 + .seconds(61), owner: "B", leaseFor: .seconds(60))
        #expect(afterExpiry.count == 1)
        // A lost lease cannot record an outcome over the new owner's.
        let record = AttemptRecord(startedAt: t0, duration: .seconds(1), server: "s", outcome: .delivered(reply: "250 ok"),
                                   newState: .sent, nextAttemptAt: nil)
        #expect(try await store.finish(QueueID(rawValue: 1), owner: "A", attempt: record) == false)
        #expect(try await other.finish(QueueID(rawValue: 1), owner: "B", attempt: record) == true)
        #expect(try await store.counts()[.sent] == 1)
    }

    @Test("A deferred message is due again at its next attempt time, with its error and history kept")
    func deferred() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        _ = try await store.enqueue(try message("a@example.org"), spoolName: "m.eml", now: t0)
        let id = try #require(try await store.claimDue(limit: 1, now: t0, owner: "A", leaseFor: .seconds(60)).first?.id)
        let retryAt = t0 + .seconds(300)
        try await store.finish(id, owner: "A", attempt: AttemptRecord(
            startedAt: t0, duration: .milliseconds(20), server: "127.0.0.1:25",
            outcome: .temporaryFailure(reason: "451 4.3.0 try again later"), newState: .deferred, nextAttemptAt: retryAt))
        #expect(try await store.nextDueTime() == retryAt)
        #expect(try await store.claimDue(limit: 1, now: retryAt - .seconds(1), owner: "A", leaseFor: .seconds(60)).isEmpty)
        let entry = try #require(try await store.list(now: t0).first)
        #expect(entry.state == .deferred && entry.attempts == 1 && entry.lastError == "451 4.3.0 try again later")
        let again = try await store.claimDue(limit: 1, now: retryAt, owner: "A", leaseFor: .seconds(60))
        #expect(again.first?.previousAttempts == 1)
        let history = try await store.attempts(of: id)
        #expect(history.map(\.reply) == ["451 4.3.0 try again later"])
    }

    @Test("Leases of a daemon known to be gone are released at once")
    func recovery() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        _ = try await store.enqueue(try message("a@example.org"), spoolName: "m1.eml", now: t0)
        _ = try await store.enqueue(try message("b@example.org"), spoolName: "m2.eml", now: t0)
        _ = try await store.claimDue(limit: 1, now: t0, owner: "dead", leaseFor: .seconds(600))
        _ = try await store.claimDue(limit: 1, now: t0, owner: "alive", leaseFor: .seconds(600))
        #expect(try await store.recoverLeases { $0 == "dead" ? .gone : .alive }.released == 1)
        #expect(try await store.claimDue(limit: 5, now: t0, owner: "new", leaseFor: .seconds(600)).map(\.id) == [QueueID(rawValue: 1)])
    }

    @Test("A read-only open of a file that is not a queue fails clearly")
    func notAQueue() throws {
        let queue = TemporaryQueue()
        FileManager.default.createFile(atPath: queue.path, contents: Data("this is not sqlite at all, not even close......".utf8))
        let error = #expect(throws: DatabaseError.self) { try QueueStore(path: queue.path, readOnly: true) }
        #expect(error?.resultCode == .SQLITE_NOTADB, "\(String(describing: error))")
    }

    @Test("Queue ids print as 8 hex digits and parse back", arguments: [(Int64(1), "00000001"), (255, "000000FF"), (0x1_0000_0000, "100000000")])
    func queueIDs(raw: Int64, text: String) {
        #expect(QueueID(rawValue: raw).description == text)
        #expect(QueueID(text) == QueueID(rawValue: raw))
        #expect(QueueID(text.lowercased()) == QueueID(rawValue: raw))
    }
}
