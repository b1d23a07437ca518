import Foundation
import GRDB
import OutboxCore
import OutboxStore
import Testing

@Suite("Delivery turns in one transaction, and the content table")
struct DeliveryTurnsStoreTests {
    let t0 = UnixTime(seconds: 1_800_000_000)

    func message(_ number: Int) throws -> IncomingMessage {
        let text = "From: sender@example.org\nTo: r\(number)@example.org\nSubject: \(number)\n\nbody \(number)\n"
        return try IncomingMessage(eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: t0, uniqueToken: "u\(number)"))
    }

    @Test("Turns taken together: finished attempts are recorded, then each claiming turn leases its own message")
    func turnsInOneTransaction() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        for number in 0..<3 {
            _ = try await store.enqueue(try message(number), spoolName: "m\(number).eml", now: t0)
        }
        let first = try store.takeTurns([DeliveryTurn(finishing: nil, claims: true, owner: "A/w0")],
                                        now: t0, owner: "A", leaseFor: .seconds(600))
        let sent = try #require(first.first?.claimed)
        let record = AttemptRecord(startedAt: t0, duration: .milliseconds(1), server: "s",
                                   outcome: .delivered(reply: "250 ok"), newState: .sent, nextAttemptAt: nil)
        let results = try store.takeTurns(
            [DeliveryTurn(finishing: (sent.id, record), claims: true, owner: "A/w0"),
             DeliveryTurn(finishing: nil, claims: true, owner: "A/w1"),
             DeliveryTurn(finishing: nil, claims: false, owner: "A/w2")],
            now: t0, owner: "A", leaseFor: .seconds(600))
        #expect(results.map(\.recorded) == [true, nil, nil])
        let claimed = results.compactMap(\.claimed?.id)
        #expect(claimed.count == 2)
        #expect(Set(claimed + [sent.id]).count == 3)
        #expect(results[2].claimed == nil)
        #expect(try await store.counts()[.sent] == 1)
        #expect(try await store.attempts(of: sent.id).map(\.reply) == ["250 ok"])
    }

    @Test("A queue written before content moved to its own table keeps every message's content")
    func contentMigration() async throws {
        let queue = TemporaryQueue()
        // The layout of migrations v1 and v2, with one message in it.
        let old = try DatabaseQueue(path: queue.path)
        try await old.write { db in
            try db.execute(sql: """
                CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                INSERT INTO grdb_migrations VALUES ('v1: messages, recipients, attempts'),
                    ('v2-delivery: per-recipient results in the attempt history');
                CREATE TABLE message (id INTEGER PRIMARY KEY AUTOINCREMENT, spool_name TEXT UNIQUE, sender TEXT NOT NULL,
                    content BLOB NOT NULL, size INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,
                    last_error TEXT, lease_owner TEXT, lease_expires_at INTEGER);
                CREATE INDEX message_due ON message(next_attempt_at) WHERE state IN ('queued', 'deferred');
                CREATE INDEX message_state ON message(state);
                CREATE INDEX message_leased ON message(lease_owner) WHERE lease_owner IS NOT NULL;
                CREATE TABLE recipient (message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL, address TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued', last_reply TEXT,
                    PRIMARY KEY (message_id, position)) WITHOUT ROWID;
                CREATE TABLE attempt (id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                    started_at INTEGER NOT NULL, duration_ms INTEGER NOT NULL, server TEXT NOT NULL, outcome TEXT NOT NULL,
                    reply TEXT NOT NULL, recipients TEXT);
                CREATE INDEX attempt_message ON attempt(message_id);
                INSERT INTO message (spool_name, sender, content, size, state, created_at, updated_at, next_attempt_at)
                    VALUES ('old.eml', 'sender@example.org', CAST('Subject: from before' || char(13, 10, 13, 10) || 'old body' || char(13, 10) AS BLOB),
                            36, 'queued', 0, 0, 0);
                INSERT INTO recipient (message_id, position, address) VALUES (1, 0, 'a@example.org');
                """)
        }
        try old.close()

        let store = try QueueStore(path: queue.path)
        let claimed = try #require(try await store.claimDue(limit: 1, now: t0, owner: "A", leaseFor: .seconds(60)).first)
        #expect(String(decoding: claimed.content.bytes, as: UTF8.self) == "Subject: from before\r\n\r\nold body\r\n")
        #expect(claimed.envelope.recipients.map(\.value) == ["a@example.org"])
        let detail = try #require(try await store.message(claimed.id, now: t0))
        #expect(String(decoding: detail.content, as: UTF8.self).hasSuffix("old body\r\n"))
    }
}
