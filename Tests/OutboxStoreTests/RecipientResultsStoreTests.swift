import Foundation
import GRDB
import OutboxCore
import OutboxStore
import Testing

@Suite("Per-recipient results on a real SQLite file")
struct RecipientResultsStoreTests {
    let t0 = UnixTime(seconds: 1_800_000_000)

    @Test("Results are stored per recipient; the next claim offers only those still queued; history keeps each attempt's")
    func perRecipient() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let text = "From: s@example.org\nTo: a@example.org, b@example.org, c@example.org\nSubject: s\n\nbody\n"
        let message = try IncomingMessage(eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: t0, uniqueToken: "u"))
        _ = try await store.enqueue(message, spoolName: "m.eml", now: t0)

        let first = try #require(try await store.claimDue(limit: 1, now: t0, owner: "A", leaseFor: .seconds(60)).first)
        #expect(first.recipientPositions.count == 3 && first.alreadySent == 0)
        let positions = first.recipientPositions
        try await store.finish(first.id, owner: "A", attempt: AttemptRecord(
            startedAt: t0, duration: .milliseconds(5), server: "s", outcome: .temporaryFailure(reason: "451 c later"),
            newState: .deferred, nextAttemptAt: t0 + .seconds(60),
            recipients: [
                .init(position: positions[0], state: .sent, reply: "250 ok"),
                .init(position: positions[1], state: .failed, reply: "550 b unknown"),
                .init(position: positions[2], state: .queued, reply: "451 c later"),
            ]))

        let second = try #require(try await store.claimDue(limit: 1, now: t0 + .seconds(60), owner: "A", leaseFor: .seconds(60)).first)
        #expect(second.envelope.recipients.map(\.value) == ["c@example.org"])
        #expect(second.recipientPositions == [positions[2]])
        #expect(second.alreadySent == 1)
        try await store.finish(second.id, owner: "A", attempt: AttemptRecord(
            startedAt: t0 + .seconds(60), duration: .milliseconds(5), server: "s", outcome: .delivered(reply: "250 ok 2"),
            newState: .sent, nextAttemptAt: nil, recipients: [.init(position: positions[2], state: .sent, reply: "250 ok 2")]))

        let entry = try #require(try await store.list(now: t0).first)
        #expect(entry.state == .sent)
        #expect(entry.recipients.map(\.state) == ["sent", "failed", "sent"])
        #expect(entry.recipients[1].lastReply == "550 b unknown")
        // What an admin reads with sqlite3: each attempt's decision per recipient.
        let file = try DatabaseQueue(path: queue.path)
        let history = try await file.read { db in
            try String?.fetchAll(db, sql: "SELECT recipients FROM attempt WHERE message_id = ? ORDER BY id",
                                 arguments: [first.id.rawValue])
        }
        #expect(history.map { $0?.lines.map(String.init) ?? [] } == [
            ["<a@example.org> sent: 250 ok", "<b@example.org> failed: 550 b unknown", "<c@example.org> queued: 451 c later"],
            ["<c@example.org> sent: 250 ok 2"],
        ])
    }
}
