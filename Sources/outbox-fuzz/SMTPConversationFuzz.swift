import Foundation
import OutboxCore
import OutboxSMTPServer

/// `outbox-fuzz --smtp SESSIONS [SEED]` — the SMTP listener's conversation (issue 12): random and
/// pipelined command streams, over-long lines, bare CR/LF, binary DATA and NULs, fed to
/// ``SMTPServerConversation`` in random-sized pieces, with random commit outcomes. Every reply
/// must be well-formed (RFC 5321 §4.2: `ddd-text` lines and one `ddd text` line, printable ASCII,
/// CRLF, at most 512 octets); nothing may follow a close; no crash. Accepted messages also go
/// through the same ``IncomingMessage`` conversion the listener uses.
enum SMTPConversationFuzz {
    static func run(sessions: Int, seed: UInt64) -> Int32 {
        var random = SplitMix64(seed: seed)
        var replies = 0, submissions = 0, closes = 0, violations = 0
        let start = Date()
        func violation(_ text: String) {
            violations += 1
            if violations <= 10 { print("fuzz smtp: \(text)") }
        }
        for session in 0..<sessions {
            var conversation = SMTPServerConversation(limits: .init(
                hostname: "fuzz.example.org", maxRecipients: Int(random.next() % 5) + 1,
                maxMessageSize: Int(random.next() % 4000) + 10, maxErrors: Int(random.next() % 30) + 1))
            var input: [UInt8] = []
            for _ in 0..<(Int(random.next() % 30) + 1) { input += piece(&random) }
            var closed = false
            var actions = conversation.greeting()
            var offset = 0
            var rounds = 0
            while rounds < 10_000 {
                rounds += 1
                for action in actions {
                    switch action {
                    case .reply(let reply):
                        replies += 1
                        if closed { violation("session \(session): a reply after close: \(reply)") }
                        if let problem = wellFormed(reply.bytes) { violation("session \(session): \(problem): \(reply)") }
                    case .close:
                        closes += 1
                        closed = true
                    case .submit(let submission):
                        submissions += 1
                        _ = try? IncomingMessage(
                            smtpContent: submission.content,
                            envelope: Envelope(sender: submission.sender, recipients: submission.recipients),
                            maxSize: 4000,
                            context: .init(defaultSender: nil, hostname: "fuzz.example.org", now: UnixTime(seconds: 1_795_000_000), uniqueToken: "f"))
                    }
                }
                if actions.contains(where: { if case .submit = $0 { true } else { false } }) {
                    let results: [SMTPServerConversation.CommitResult] = [.queued(queueID: "0000002A"), .temporaryFailure, .rejected(reason: "bad\r\nreason \u{7}")]
                    actions = conversation.commitFinished(results[Int(random.next() % 3)])
                    continue
                }
                guard offset < input.count, !closed else { break }
                let size = min(input.count - offset, Int(random.next() % 700) + 1)
                actions = conversation.receive(input[offset..<(offset + size)])
                offset += size
            }
            // A shutdown or idle timeout at the end must also answer well.
            for action in (random.next() % 2 == 0 ? conversation.shutdown() : conversation.idleTimeout()) {
                if case .reply(let reply) = action, let problem = wellFormed(reply.bytes) { violation("shutdown: \(problem)") }
            }
        }
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "fuzz smtp: sessions=%d replies=%d submissions=%d closes=%d bad_replies=%d crashes=0 seconds=%.1f",
                     sessions, replies, submissions, closes, violations, seconds))
        return violations == 0 ? 0 : 1
    }

    /// nil when `bytes` is one well-formed SMTP reply.
    static func wellFormed(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 5, bytes.suffix(2) == [13, 10] else { return "does not end with CRLF" }
        let lines = bytes.dropLast(2).split(separator: 10, omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            let text = index < lines.count - 1 ? line.dropLast() : line[...]  // each inner line ends "\r"
            if index < lines.count - 1 && line.last != 13 { return "a bare LF inside the reply" }
            guard text.count >= 4, text.count <= 510 else { return "a line of \(text.count) octets" }
            let code = text.prefix(3)
            guard code.allSatisfy({ $0 >= 48 && $0 <= 57 }), (50...53).contains(code.first!) else { return "no reply code" }
            let separator = text[text.startIndex + 3]
            guard separator == (index == lines.count - 1 ? 32 : 45) else { return "wrong continuation mark" }
            guard text.allSatisfy({ $0 >= 32 && $0 < 127 }) else { return "a control or non-ASCII octet" }
            if lines.count > 1 && line.prefix(3) != lines[0].prefix(3) { return "codes differ between lines" }
        }
        return nil
    }

    static let verbs = ["EHLO client.test", "HELO client.test", "MAIL FROM:<a@example.org>", "MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME",
                        "MAIL FROM:<>", "RCPT TO:<b@example.org>", "RCPT TO:<c@example.org>", "RCPT TO:<bad>", "RCPT TO:<b@example.org> NOTIFY=NEVER",
                        "DATA", "RSET", "NOOP", "QUIT", "VRFY root", "EXPN list", "HELP", "STARTTLS", "AUTH PLAIN AGFiAGM=", "BDAT 10 LAST",
                        "GET / HTTP/1.0", "mail from:<x@y.z>", "RCPT TO:<\u{e9}@example.org>", "MAIL FROM:<a@example.org> SIZE=99999999"]

    /// One piece of a client's stream.
    static func piece(_ random: inout SplitMix64) -> [UInt8] {
        switch random.next() % 10 {
        case 0...3: return Array((verbs[Int(random.next() % UInt64(verbs.count))] + "\r\n").utf8)
        case 4:  // a pipelined transaction with content, sometimes dot-stuffed, sometimes smuggling
            var text = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: fuzz\r\n\r\n"
            text += ["body\r\n", "..dot\r\n", "bare\n.\nMAIL FROM:<e@x.y>\r\n", "cr\r.\r", "\r\n.\r", ""][Int(random.next() % 6)]
            return Array((text + ".\r\n").utf8)
        case 5:  // binary bytes
            return (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        case 6:  // a long line
            return Array(repeating: UInt8(ascii: "A"), count: Int(random.next() % 3000)) + [13, 10]
        case 7: return [[10], [13], [13, 10], [46, 13, 10], [0], [13, 10, 46, 13, 10]][Int(random.next() % 6)]
        default:  // a mutated command
            var bytes = Array((verbs[Int(random.next() % UInt64(verbs.count))] + "\r\n").utf8)
            if !bytes.isEmpty { bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next()) }
            return bytes
        }
    }
}
