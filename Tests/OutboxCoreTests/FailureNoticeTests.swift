import OutboxCore
import Testing

@Suite("Failure notice")
struct FailureNoticeTests {
    let notice = FailureNotice(
        queueID: "0000002A", subject: "Données prêtes", sender: "admin@xnat.example.org",
        failures: [.init(address: "gone@example.org", reply: "550 5.1.1 <gone@example.org>: user unknown")])

    @Test("A notice is a valid message to the admin naming the failed recipient and reply, and marks itself as a notice")
    func message() throws {
        let text = notice.message(from: try EmailAddress("outbox@xnat.example.org"), to: try EmailAddress("admin@example.org"))
        let incoming = try IncomingMessage(
            eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: UnixTime(seconds: 0), uniqueToken: "t"))
        #expect(incoming.envelope.recipients.map(\.value) == ["admin@example.org"])
        #expect(incoming.envelope.sender.value == "outbox@xnat.example.org")
        #expect(FailureNotice.isNotice(incoming.content))
        #expect(text.contains("  <gone@example.org>: 550 5.1.1 <gone@example.org>: user unknown\n"))
        #expect(text.unicodeScalars.allSatisfy { $0.isASCII }, "non-ASCII subjects are reduced, so the notice stays valid")
    }

    @Test("An ordinary message is not a notice")
    func ordinary() throws {
        let incoming = try IncomingMessage(
            eml: Array("From: a@example.org\nTo: b@example.org\nSubject: x\n\nbody\n".utf8),
            context: .init(defaultSender: nil, hostname: "h", now: UnixTime(seconds: 0), uniqueToken: "t"))
        #expect(!FailureNotice.isNotice(incoming.content))
    }
}
