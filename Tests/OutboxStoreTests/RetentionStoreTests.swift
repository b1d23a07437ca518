import Foundation
import GRDB
import OutboxCore
@testable import OutboxStore
import Testing

@Suite("Retention: dropped bodies, expiry in batches, space given back, hardened connections")
struct RetentionStoreTests {
    let t0 = UnixTime(seconds: 1_800_000_000)
    static let body = "RESET-LINK-zq81-https://xnat.example.org/app/template/ChangePassword?token=7f3e9a"

    /// Queues one message per name, with a distinctive body, and returns their ids.
    func enqueue(_ store: QueueStore, _ names: [String], at time: UnixTime) async throws -> [QueueID] {
        var ids: [QueueID] = []
        for name in names {
            let text = "From: s@example.org\nTo: a@example.org\nSubject: reset \(name)\n\n\(Self.body)-\(name)\n"
            let message = try IncomingMessage(
                eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: time, uniqueToken: name))
            _ = try await store.enqueue(message, spoolName: name, now: time)
            ids.append(try #require(try await store.queueID(spoolName: name)))
        }
        return ids
    }

    /// Claims and records every due message with `state` (sent or failed) at `time`.
    func finishAll(_ store: QueueStore, as state: QueueState, at time: UnixTime) async throws {
        for claimed in try await store.claimDue(limit: 1000, now: time, owner: "A", leaseFor: .seconds(60)) {
            let outcome: DeliveryOutcome = state == .sent ? .delivered(reply: "250 2.0.0 queued as X") : .permanentFailure(reason: "550 no")
            #expect(try await store.finish(claimed.id, owner: "A", attempt: AttemptRecord(
                startedAt: time, duration: .milliseconds(5), server: "smtp.example.org:587", outcome: outcome,
                newState: state, nextAttemptAt: nil)))
        }
    }

    /// Every file of the queue (main file, -wal, -shm) as one byte string.
    func fileBytes(_ path: String) -> Data {
        ["", "-wal", "-shm"].reduce(into: Data()) { all, suffix in all.append(FileManager.default.contents(atPath: path + suffix) ?? Data()) }
    }

    @Test("A sent message keeps envelope, headers, recipients and attempts; its body is gone from the files after a clean close")
    func bodyDropped() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let ids = try await enqueue(store, (0..<20).map { "m\($0).eml" }, at: t0)
        #expect(fileBytes(queue.path).range(of: Data(Self.body.utf8)) != nil, "queued mail is in the file")
        try await finishAll(store, as: .sent, at: t0 + .seconds(1))

        let detail = try #require(try await store.message(ids[3], now: t0 + .seconds(2)))
        #expect(detail.contentDroppedAt == t0 + .seconds(1) + .milliseconds(5))
        let headers = String(decoding: detail.content, as: UTF8.self)
        #expect(headers.contains("Subject: reset m3.eml\r\n") && headers.hasSuffix("\r\n") && !headers.contains("\r\n\r\n"))
        #expect(!String(decoding: detail.content, as: UTF8.self).contains(Self.body))
        #expect(detail.entry.recipients.map(\.state) == ["sent"] && detail.entry.recipients[0].lastReply == "250 2.0.0 queued as X")
        #expect(detail.attempts.map(\.reply) == ["250 2.0.0 queued as X"])
        #expect(detail.entry.sender == "s@example.org")

        try await store.close()
        #expect(fileBytes(queue.path).range(of: Data(Self.body.utf8)) == nil, "secure_delete overwrote every dropped body")
    }

    @Test("keep_sent_content keeps a sent body; failed mail always keeps its content (for requeue)")
    func keptWhenAsked() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        store.setKeepsSentContent(true)
        let sent = try await enqueue(store, ["kept.eml"], at: t0)
        try await finishAll(store, as: .sent, at: t0)
        store.setKeepsSentContent(false)
        let failed = try await enqueue(store, ["failed.eml"], at: t0)
        try await finishAll(store, as: .failed, at: t0)
        for id in [sent[0], failed[0]] {
            let detail = try #require(try await store.message(id, now: t0))
            #expect(detail.contentDroppedAt == nil)
            #expect(String(decoding: detail.content, as: UTF8.self).contains(Self.body))
        }
    }

    @Test("Expired sent and failed messages are deleted in batches, oldest first; younger and unfinished ones stay")
    func expiry() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        _ = try await enqueue(store, (0..<250).map { "old\($0).eml" }, at: t0)
        try await finishAll(store, as: .sent, at: t0)
        _ = try await enqueue(store, (0..<30).map { "failed\($0).eml" }, at: t0)
        try await finishAll(store, as: .failed, at: t0)
        _ = try await enqueue(store, (0..<5).map { "young\($0).eml" }, at: t0 + .seconds(86_400))
        try await finishAll(store, as: .sent, at: t0 + .seconds(86_400))
        _ = try await enqueue(store, (0..<7).map { "waiting\($0).eml" }, at: t0)

        let now = t0 + .seconds(86_400 + 3600)
        let keep = Duration.seconds(3600 * 2)
        #expect(try await store.purgeExpired(.sent, olderThan: keep, now: now, limit: 100) == 100)
        #expect(try await store.purgeExpired(.sent, olderThan: keep, now: now, limit: 100) == 100)
        #expect(try await store.purgeExpired(.sent, olderThan: keep, now: now, limit: 100) == 50)
        #expect(try await store.purgeExpired(.sent, olderThan: keep, now: now, limit: 100) == 0)
        #expect(try await store.purgeExpired(.failed, olderThan: .seconds(30 * 86_400), now: now, limit: 100) == 0)
        #expect(try await store.purgeExpired(.failed, olderThan: keep, now: now, limit: 100) == 30)
        let counts = try await store.counts()
        #expect(counts[.sent] == 5 && counts[.failed] == 0 && counts[.queued] == 7)
        let orphans = try await store.pool.read { db in
            try Int.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM recipient) + (SELECT count(*) FROM attempt) + (SELECT count(*) FROM message_content)
                """)
        }
        #expect(orphans == 5 + 5 + 5 + 7 + 7, "recipients, attempts and content went with their messages")
    }

    @Test("Connections are hardened: secure_delete, trusted_schema off, incremental vacuum, DEFENSIVE refuses schema writes")
    func hardening() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let settings = try await store.writerHardening
        #expect(settings.secureDelete == 1 && settings.trustedSchema == 0 && settings.autoVacuum == 2)
        await #expect(throws: DatabaseError.self) {
            try await store.pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA writable_schema = ON")
                try db.execute(sql: "UPDATE sqlite_master SET sql = 'x' WHERE name = 'message'")
            }
        }
        let reader = try QueueStore(path: queue.path, readOnly: true)
        let readerTrusted = try await reader.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA trusted_schema") }
        #expect(readerTrusted == 0)
    }

    @Test("An older file without auto_vacuum is converted once; purged space is then given back to the file system")
    func spaceGivenBack() async throws {
        let queue = TemporaryQueue()
        do {
            // As outboxd before this version created it: WAL, no auto_vacuum.
            let old = try DatabaseQueue(path: queue.path)
            try await old.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "CREATE TABLE leftover (a)")
            }
            try old.close()
        }
        let store = try QueueStore(path: queue.path)
        #expect(try await store.writerHardening.autoVacuum == 0)
        #expect(try await store.convertToIncrementalVacuum())
        #expect(try await store.writerHardening.autoVacuum == 2)
        #expect(try await store.convertToIncrementalVacuum() == false, "once only")

        // Big enough bodies to take many pages, then purge and reclaim.
        for index in 0..<200 {
            let text = "From: s@example.org\nTo: a@example.org\nSubject: big\n\n" + String(repeating: "line of text \(index)\n", count: 1500)
            let message = try IncomingMessage(eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: t0, uniqueToken: "b\(index)"))
            _ = try await store.enqueue(message, spoolName: "big\(index).eml", now: t0)
        }
        try await finishAll(store, as: .failed, at: t0)
        let pageCount = { () async throws -> Int in
            try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
        }
        let before = try await pageCount()
        while try await store.purgeExpired(.failed, olderThan: .zero, now: t0 + .seconds(1), limit: 50) > 0 {}
        while try await store.reclaimFreePages(256) > 0 {}
        let after = try await pageCount()
        #expect(before > 1000 && after < before / 10, "pages before \(before), after \(after)")
    }
}

@Suite("Retention: upgrading a queue written before it")
struct RetentionUpgradeTests {
    let t0 = UnixTime(seconds: 1_800_000_000)

    @Test("The v5 migration drops the bodies of mail sent before it; queued and failed mail keep their content")
    func upgrade() async throws {
        let queue = TemporaryQueue()
        let retention = RetentionStoreTests()
        do {
            let store = try QueueStore(path: queue.path)
            store.setKeepsSentContent(true)  // as every version before this one did
            _ = try await retention.enqueue(store, ["sent.eml"], at: t0)
            try await retention.finishAll(store, as: .sent, at: t0)
            _ = try await retention.enqueue(store, ["failed.eml"], at: t0)
            try await retention.finishAll(store, as: .failed, at: t0)
            _ = try await retention.enqueue(store, ["waiting.eml"], at: t0)
            // Back to the v4 schema: no index, no dropped_at, no record of v5.
            try await store.pool.writeWithoutTransaction { db in
                try db.execute(sql: """
                    DROP INDEX message_finished;
                    ALTER TABLE message_content DROP COLUMN dropped_at;
                    DELETE FROM grdb_migrations WHERE identifier LIKE 'v5-retention%';
                    """)
            }
            try await store.close()
        }
        let store = try QueueStore(path: queue.path)
        let entries = try await store.list(now: t0)
        #expect(entries.map(\.state) == [.sent, .failed, .queued])
        for entry in entries {
            let detail = try #require(try await store.message(entry.id, now: t0))
            let text = String(decoding: detail.content, as: UTF8.self)
            #expect(text.contains("Subject: reset"))
            #expect(text.contains(RetentionStoreTests.body) == (entry.state != .sent), "\(entry.state)")
            #expect((detail.contentDroppedAt != nil) == (entry.state == .sent))
        }
    }
}
