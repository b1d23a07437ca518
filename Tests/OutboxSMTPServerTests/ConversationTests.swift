import OutboxCore
import Testing

@testable import OutboxSMTPServer

/// Drives a conversation the way the NIO handler does and records what goes on the wire.
private struct Session {
    var conversation: SMTPServerConversation
    var submissions: [SMTPServerConversation.Submission] = []
    var closed = false

    init(maxRecipients: Int = 5, maxMessageSize: Int = 1000, maxErrors: Int = 20) {
        conversation = SMTPServerConversation(limits: .init(
            hostname: "mx.test", maxRecipients: maxRecipients, maxMessageSize: maxMessageSize, maxErrors: maxErrors))
    }

    /// Sends `text` (with `\r\n` written out) and returns the reply lines.
    mutating func send(_ text: String) -> [String] { send(Array(text.utf8)) }

    mutating func send(_ bytes: [UInt8]) -> [String] { lines(conversation.receive(bytes)) }

    mutating func commit(_ result: SMTPServerConversation.CommitResult) -> [String] {
        lines(conversation.commitFinished(result))
    }

    private mutating func lines(_ actions: [SMTPServerConversation.Action]) -> [String] {
        var out: [String] = []
        for action in actions {
            switch action {
            case .reply(let reply):
                let text = String(decoding: reply.bytes, as: UTF8.self)
                #expect(text.hasSuffix("\r\n"))
                out += text.split(separator: "\r\n", omittingEmptySubsequences: false).dropLast().map(String.init)
            case .submit(let submission): submissions.append(submission)
            case .close: closed = true
            }
        }
        return out
    }

    /// EHLO, MAIL, one RCPT, DATA: ready for content.
    mutating func startData() {
        _ = send("EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
    }
}

@Suite("SMTP server conversation")
struct ConversationTests {
    @Test("The greeting names the host; EHLO lists the extensions")
    func greetingAndEHLO() {
        var session = Session()
        let greeting = session.conversation.greeting()
        #expect(greeting == [.reply(SMTPReply(220, nil, "mx.test ESMTP outbox"))])
        #expect(session.send("EHLO client.test\r\n") == [
            "250-mx.test", "250-PIPELINING", "250-SIZE 1000", "250-8BITMIME", "250 ENHANCEDSTATUSCODES",
        ])
        #expect(session.send("HELO client.test\r\n") == ["250 mx.test"])
        #expect(session.send("EHLO\r\n") == ["501 5.5.4 Syntax: EHLO hostname"])
    }

    @Test("A pipelined transaction is answered in order and submits the envelope and the unstuffed content")
    func pipelinedTransaction() {
        var session = Session()
        let replies = session.send(
            "EHLO c\r\nMAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n"
                + "Subject: hi\r\n\r\n..leading dot\r\nbody\r\n.\r\nQUIT\r\n")
        #expect(replies.suffix(4) == ["250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>"])
        #expect(session.submissions.count == 1)
        let submission = session.submissions[0]
        #expect(submission.sender.value == "a@example.org")
        #expect(submission.recipients.map(\.value) == ["b@example.org", "c@example.org"])
        #expect(String(decoding: submission.content, as: UTF8.self) == "Subject: hi\r\n\r\n.leading dot\r\nbody\r\n")
        // QUIT waits for the commit: no 221 before the 250.
        #expect(!session.closed)
        #expect(session.commit(.queued(queueID: "0000002A")) == ["250 2.0.0 Ok: queued as 0000002A", "221 2.0.0 Bye"])
        #expect(session.closed)
    }

    @Test("Content split at every byte boundary still ends only at CRLF.CRLF")
    func splitContent() {
        let content = "Subject: x\r\n\r\nline\r\n.\r\n"
        for split in 0...content.utf8.count {
            var session = Session()
            session.startData()
            let bytes = Array(content.utf8)
            _ = session.send(Array(bytes[..<split]))
            _ = session.send(Array(bytes[split...]))
            #expect(session.submissions.count == 1)
            #expect(session.submissions.first.map { String(decoding: $0.content, as: UTF8.self) } == "Subject: x\r\n\r\nline\r\n")
        }
    }

    @Test("Bare LF or bare CR in DATA refuses the message; LF.LF does not end the data",
          arguments: ["Subject: x\r\n\r\nsmuggled\n.\nMAIL FROM:<evil@example.org>\r\n.\r\n",
                      "Subject: x\r\n\r\nsmuggled\n.\r\nMAIL FROM:<evil@example.org>\r\n.\r\n",
                      "Subject: x\r\n\r\nsmuggled\r.\rline\r\n.\r\n",
                      "Subject: x\r\n\r\nsmuggled\r\n.\nstill data\r\n.\r\n",
                      "Subject: x\r\n\r\nsmuggled\r\n.\rstill data\r\n.\r\n"])
    func bareLineEnds(content: String) {
        var session = Session()
        session.startData()
        let replies = session.send(content)
        #expect(session.submissions.isEmpty)
        #expect(replies.count == 1)
        #expect(replies.first?.hasPrefix("554 5.5.2 Message refused: bare ") == true)
        // The session goes on, and the next transaction works.
        #expect(session.send("MAIL FROM:<a@example.org>\r\n") == ["250 2.1.0 Ok"])
    }

    @Test("A message over the limit is answered 552 at MAIL (SIZE) and while reading")
    func tooLarge() {
        var session = Session(maxMessageSize: 100)
        _ = session.send("EHLO c\r\n")
        #expect(session.send("MAIL FROM:<a@example.org> SIZE=101\r\n") == ["552 5.3.4 Message size exceeds fixed limit of 100 bytes"])
        session.startData()
        let replies = session.send("Subject: x\r\n\r\n" + String(repeating: "y", count: 200) + "\r\n.\r\n")
        #expect(replies == ["552 5.3.4 Message size exceeds fixed limit of 100 bytes"])
        #expect(session.submissions.isEmpty)
    }

    @Test("More recipients than the limit are answered 452; duplicates are accepted once")
    func tooManyRecipients() {
        var session = Session(maxRecipients: 2)
        _ = session.send("EHLO c\r\nMAIL FROM:<a@example.org>\r\n")
        #expect(session.send("RCPT TO:<1@example.org>\r\nRCPT TO:<1@example.org>\r\nRCPT TO:<2@example.org>\r\nRCPT TO:<3@example.org>\r\n") == [
            "250 2.1.5 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok", "452 4.5.3 Error: too many recipients (at most 2 per message)",
        ])
    }

    @Test("Bad addresses are refused with the reason",
          arguments: [("RCPT TO:<nodomain>", "553 5.1.3 Bad recipient address syntax: it has no @domain"),
                      ("RCPT TO:<a@example.org SIZE=1>", "553 5.1.3 Bad recipient address syntax: it contains the character \" \""),
                      ("RCPT TO:b@example.org", "501 5.5.4 Syntax: RCPT TO:<address>"),
                      ("RCPT TO:<b@example.org> NOTIFY=NEVER", "555 5.5.4 Unsupported RCPT parameter NOTIFY"),
                      ("RCPT TO:<b@exa mple.org", "501 5.5.4 Syntax: RCPT TO:<address>"),
                      ("RCPT TO:<josé@example.org>",
                       "553 5.1.3 Bad recipient address syntax: it contains non-ASCII characters (SMTPUTF8 is not supported)"),
                      ("RCPT TO:<>", "553 5.1.3 Bad recipient address syntax: it is empty")])
    func badRecipient(command: String, reply: String) {
        var session = Session()
        _ = session.send("EHLO c\r\nMAIL FROM:<a@example.org>\r\n")
        #expect(session.send(command + "\r\n") == [reply])
    }

    @Test("MAIL checks the sender and its parameters")
    func badSender() {
        var session = Session()
        _ = session.send("EHLO c\r\n")
        #expect(session.send("MAIL FROM:<>\r\n").first?.hasPrefix("553 5.1.7 Null sender") == true)
        #expect(session.send("MAIL FROM:<a@example.org> XYZ=1\r\n") == ["555 5.5.4 Unsupported MAIL parameter XYZ"])
        #expect(session.send("MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n") == ["501 5.5.4 Bad BODY parameter (7BIT or 8BITMIME)"])
        #expect(session.send("MAIL FROM:<@relay.example:a@example.org>\r\n") == ["250 2.1.0 Ok"])
        #expect(session.send("MAIL FROM:<a@example.org>\r\n") == ["503 5.5.1 Error: nested MAIL command"])
    }

    @Test("Commands out of sequence are answered 503 (554 for DATA without recipients)")
    func sequence() {
        var session = Session()
        #expect(session.send("MAIL FROM:<a@example.org>\r\n") == ["503 5.5.1 Error: send EHLO or HELO first"])
        _ = session.send("HELO c\r\n")
        #expect(session.send("RCPT TO:<b@example.org>\r\n") == ["503 5.5.1 Error: need MAIL command"])
        #expect(session.send("DATA\r\n") == ["503 5.5.1 Error: need MAIL command"])
        _ = session.send("MAIL FROM:<a@example.org>\r\n")
        #expect(session.send("DATA\r\n") == ["554 5.5.1 Error: no valid recipients"])
        #expect(session.send("RSET\r\n") == ["250 2.0.0 Ok"])
        #expect(session.send("RCPT TO:<b@example.org>\r\n") == ["503 5.5.1 Error: need MAIL command"])
    }

    @Test("NOOP, VRFY, HELP, unknown and unsupported commands")
    func otherCommands() {
        var session = Session()
        #expect(session.send("noop\r\n") == ["250 2.0.0 Ok"])
        #expect(session.send("VRFY root\r\n") == ["252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery"])
        #expect(session.send("HELP\r\n").first?.hasPrefix("214 2.0.0") == true)
        #expect(session.send("FOO\r\n") == ["500 5.5.2 Error: command not recognized"])
        #expect(session.send("STARTTLS\r\n").first?.hasPrefix("502 5.5.1") == true)
        #expect(!session.closed)
        #expect(session.send("GET / HTTP/1.1\r\n").first?.hasPrefix("221 2.7.0") == true)
        #expect(session.closed)
    }

    @Test("A command line over 512 octets is answered 500 and the session goes on")
    func longLine() {
        var session = Session()
        let limit = "NOOP " + String(repeating: "x", count: 505) + "\r\n"  // exactly 512 octets
        #expect(limit.utf8.count == 512)
        #expect(session.send(limit) == ["250 2.0.0 Ok"])
        #expect(session.send("NOOP " + String(repeating: "x", count: 506) + "\r\n")
            == ["500 5.5.6 Error: command line too long (at most 512 octets with CRLF)"])
        #expect(session.send(String(repeating: "y", count: 100_000) + "\r\nNOOP\r\n").count == 2)
        #expect(session.send("NOOP\r\n") == ["250 2.0.0 Ok"])
    }

    @Test("Command lines must end with CRLF")
    func bareLFCommand() {
        var session = Session()
        #expect(session.send("NOOP\n") == ["500 5.5.2 Error: bare LF in command; lines must end with CRLF"])
        #expect(session.send("NO\rOP\r\n") == ["500 5.5.2 Error: bare CR in command; lines must end with CRLF"])
    }

    @Test("The commit result decides the reply to the final dot: 250, 451 4.3.0 or 554")
    func commitResults() {
        for (result, reply) in [(SMTPServerConversation.CommitResult.temporaryFailure,
                                 "451 4.3.0 Queue cannot commit the message now; try again later"),
                                (.rejected(reason: "not an RFC 5322 message"), "554 5.6.0 Message refused: not an RFC 5322 message")] {
            var session = Session()
            session.startData()
            _ = session.send("Subject: x\r\n\r\nbody\r\n.\r\n")
            #expect(session.commit(result) == [reply])
            // The transaction is over: a new MAIL starts a new one.
            #expect(session.send("MAIL FROM:<a@example.org>\r\n") == ["250 2.1.0 Ok"])
        }
    }

    @Test("Input that arrives during a commit waits for its reply")
    func inputDuringCommit() {
        var session = Session()
        session.startData()
        #expect(session.send("Subject: x\r\n\r\nbody\r\n.\r\n").isEmpty)
        #expect(session.conversation.isCommitting)
        #expect(session.send("NOOP\r\n").isEmpty)
        #expect(session.commit(.queued(queueID: "1")) == ["250 2.0.0 Ok: queued as 1", "250 2.0.0 Ok"])
    }

    @Test("Shutdown and idle timeout answer 421; a message in progress finishes first")
    func shutdownAndIdle() {
        var session = Session()
        #expect(session.lines421(session.conversation.idleTimeout()) == "421 4.4.2 mx.test Error: timeout exceeded, closing connection")
        var busy = Session()
        busy.startData()
        #expect(busy.conversation.shutdown().isEmpty)
        _ = busy.send("Subject: x\r\n\r\nbody\r\n.\r\n")
        #expect(busy.conversation.shutdown().isEmpty)
        #expect(busy.commit(.queued(queueID: "7")) == ["250 2.0.0 Ok: queued as 7"])
        #expect(busy.lines421(busy.conversation.shutdown()) == "421 4.3.2 mx.test Service shutting down, closing connection")
    }

    @Test("Too many errors end the session with 421")
    func errorLimit() {
        var session = Session(maxErrors: 3)
        let replies = session.send("A\r\nB\r\nC\r\nD\r\n")
        #expect(replies.last == "421 4.7.0 mx.test Error: too many errors")
        #expect(replies.count == 4)
        #expect(session.closed)
    }

    @Test("The Received field names the client, the queue id and a single recipient")
    func receivedField() throws {
        let field = ReceivedField(
            heloName: "xnat(evil)\r\n", clientAddress: "127.0.0.1", hostname: "mx.test", protocolName: "ESMTP",
            recipient: try EmailAddress("b@example.org"), date: UnixTime(milliseconds: 0))
        #expect(field.text(queueID: "0000002A") == "Received: from xnat?evil??? ([127.0.0.1])\r\n\tby mx.test (outbox) with ESMTP id 0000002A\r\n\tfor <b@example.org>; Thu, 1 Jan 1970 00:00:00 +0000")
    }
}

extension Session {
    fileprivate mutating func lines421(_ actions: [SMTPServerConversation.Action]) -> String? {
        guard case .reply(let reply) = actions.first, actions.last == .close else { return nil }
        closed = true
        return reply.description
    }
}
