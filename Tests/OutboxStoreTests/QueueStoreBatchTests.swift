import Foundation
import Glibc
import GRDB
import OutboxCore
import OutboxStore
import Testing

/// The intake commits a burst of spool files in one transaction; these hold the two promises it
/// relies on: every file is queued exactly once (also across a crash between commit and unlink),
/// and a transaction that fails adds nothing, so every file of the batch can stay in new/.
@Suite("Queue store: spool files queued in batches")
struct QueueStoreBatchTests {
    let t0 = UnixTime(seconds: 1_800_000_000)

    func submission(_ name: String, to: String) throws -> QueueStore.SpoolSubmission {
        let text = "From: sender@example.org\nTo: \(to)\nSubject: \(name)\n\nbody\n"
        let message = try IncomingMessage(
            eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: t0, uniqueToken: name))
        return QueueStore.SpoolSubmission(message: message, spoolName: name)
    }

    /// Runs the sqlite3 shell on the queue file (another connection, as an admin's would be), with
    /// posix_spawn and waitpid (Foundation's Process was seen to hang when tests run in parallel).
    func sqlite3(_ path: String, _ sql: String) throws {
        let arguments: [String] = ["/usr/bin/sqlite3", path, sql]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let started = posix_spawn(&child, "/usr/bin/sqlite3", nil, nil, argv, environ)
        try #require(started == 0, "cannot start /usr/bin/sqlite3 (scripts/setup-debian.sh installs it)")
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        #expect(status == 0, "sqlite3 \(sql)")
    }

    @Test("A batch queues each file once, in order; a file queued before (crash before its unlink) adds nothing")
    func batchQueuesEachOnce() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let earlier = try await store.enqueue(try submission("b.eml", to: "b@example.org").message, spoolName: "b.eml", now: t0)

        let results = try await store.enqueue(
            [try submission("a.eml", to: "a@example.org"), try submission("b.eml", to: "b@example.org"),
             try submission("c.eml", to: "c@example.org")], now: t0)

        #expect(results.count == 3)
        #expect(results[1] == .alreadyQueued(earlier.queueID))
        guard case .inserted(let a) = results[0], case .inserted(let c) = results[2] else {
            Issue.record("a.eml and c.eml were not inserted: \(results)")
            return
        }
        #expect(Set([a, earlier.queueID, c]).count == 3)
        let entries = try await store.list(now: t0)
        #expect(entries.count == 3)
        #expect(entries.flatMap { $0.recipients.map(\.address) }.sorted() == ["a@example.org", "b@example.org", "c@example.org"])

        let again = try await store.enqueue([try submission("a.eml", to: "a@example.org")], now: t0)
        #expect(again == [.alreadyQueued(a)])
        #expect(try await store.counts()[.queued] == 3)
    }

    @Test("A batch whose transaction fails adds nothing, not even the files before the failing one")
    func failedBatchAddsNothing() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        // The third insert is refused, after two rows of the same transaction were written.
        try sqlite3(queue.path, """
            CREATE TRIGGER refuse_poison BEFORE INSERT ON message WHEN NEW.spool_name = 'poison.eml'
            BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
            """)
        let batch = [try submission("a.eml", to: "a@example.org"), try submission("b.eml", to: "b@example.org"),
                     try submission("poison.eml", to: "p@example.org"), try submission("c.eml", to: "c@example.org")]
        let error = await #expect(throws: DatabaseError.self) { try await store.enqueue(batch, now: t0) }
        #expect(error?.message == "refused by the test", "\(String(describing: error))")
        #expect(try await store.list(now: t0).isEmpty)

        try sqlite3(queue.path, "DROP TRIGGER refuse_poison;")
        let results = try await store.enqueue(batch, now: t0)
        #expect(results.allSatisfy { if case .inserted = $0 { true } else { false } }, "\(results)")
        #expect(try await store.counts()[.queued] == 4)
    }
}
