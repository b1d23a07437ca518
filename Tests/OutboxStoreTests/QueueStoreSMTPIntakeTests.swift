import Foundation
import OutboxCore
import OutboxStore
import Testing

@Suite("Queue store: messages from the SMTP listener")
struct QueueStoreSMTPIntakeTests {
    let t0 = UnixTime(seconds: 1_800_000_000)

    func submission(_ subject: String, client: String = "127.0.0.1") throws -> QueueStore.SMTPSubmission {
        let message = try IncomingMessage(
            smtpContent: Array("Subject: \(subject)\r\n\r\nbody\r\n".utf8),
            envelope: Envelope(sender: try EmailAddress("a@example.org"), recipients: [try EmailAddress("b@example.org")]),
            maxSize: 10_000, context: .init(defaultSender: nil, hostname: "mx.test", now: t0, uniqueToken: subject))
        return QueueStore.SMTPSubmission(message: message, source: "smtp \(client)") { "Received: from c ([\(client)]) id \($0)" }
    }

    @Test("Several sessions' messages commit together; each gets its queue id in its Received field and its source")
    func groupCommit() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let ids = try await store.enqueue(smtp: [try submission("one"), try submission("two", client: "::1")], now: t0)
        #expect(ids.count == 2 && ids[0] < ids[1])
        for (id, client) in zip(ids, ["127.0.0.1", "::1"]) {
            let detail = try #require(try await store.message(id, now: t0))
            let text = String(decoding: detail.content, as: UTF8.self)
            #expect(text.hasPrefix("Received: from c ([\(client)]) id \(id)\r\n"))
            #expect(text.contains("Message-ID: <"), "a Message-ID is added")
            #expect(text.contains("From: a@example.org"), "From is added from the envelope")
            #expect(detail.entry.size == detail.content.count, "the size counts the Received field")
            #expect(detail.entry.origin == "smtp \(client)")
        }
        let spool = try await store.enqueue(try submission("three").message, spoolName: "f.eml", now: t0)
        #expect(try await store.message(spool.queueID, now: t0)?.entry.origin == "spool f.eml")
    }

    @Test("A message over the size limit is refused before the store; a bare body or a broken header line starts the body")
    func sizeAndBareBodies() throws {
        let envelope = Envelope(sender: try EmailAddress("a@example.org"), recipients: [try EmailAddress("b@example.org")])
        let context = IncomingMessage.Context(defaultSender: nil, hostname: "h", now: t0, uniqueToken: "x")
        #expect(throws: IncomingMessage.Rejection.self) {
            try IncomingMessage(smtpContent: Array(repeating: 65, count: 101), envelope: envelope, maxSize: 100, context: context)
        }
        let bare = try IncomingMessage(smtpContent: Array("no header here\r\nsecond line\r\n".utf8), envelope: envelope, maxSize: 1000, context: context)
        #expect(bare.content.values(of: "From") == ["a@example.org"])
        #expect(String(decoding: bare.content.body, as: UTF8.self) == "no header here\r\nsecond line\r\n")
        let broken = try IncomingMessage(smtpContent: Array("Subject: s\r\nnot a field\r\nbody\r\n".utf8), envelope: envelope, maxSize: 1000, context: context)
        #expect(broken.content.values(of: "Subject") == ["s"])
        #expect(String(decoding: broken.content.body, as: UTF8.self) == "not a field\r\nbody\r\n")
    }
}
