import OutboxCore
import Testing

@Suite("Incoming .eml messages (sendmail -t rules)")
struct IncomingMessageTests {
    let context = IncomingMessage.Context(
        defaultSender: try? EmailAddress("admin@xnat.example.org"), hostname: "outbox.example.org",
        now: UnixTime(seconds: 1_795_000_000), uniqueToken: "tok123")

    func parse(_ text: String, context: IncomingMessage.Context? = nil) throws(IncomingMessage.Rejection) -> IncomingMessage {
        try IncomingMessage(eml: Array(text.utf8), context: context ?? self.context)
    }

    @Test("The envelope comes from From, To, Cc and Bcc; Bcc is removed; duplicates are dropped")
    func envelope() throws {
        let message = try parse("""
            From: XNAT <noreply@xnat.example.org>
            To: Alice <alice@example.org>, bob@example.org
            Cc: carol@example.org
            Bcc: dave@example.org,
             ALICE@example.org
            Subject: Hello

            Body
            """)
        #expect(message.envelope.sender.value == "noreply@xnat.example.org")
        #expect(message.envelope.recipients.map(\.value) == ["alice@example.org", "bob@example.org", "carol@example.org", "dave@example.org"])
        let text = String(decoding: message.content.bytes, as: UTF8.self)
        #expect(!text.lowercased().contains("bcc"))
        #expect(!text.contains("dave@example.org"))
        #expect(text.hasPrefix("From: XNAT <noreply@xnat.example.org>\r\nTo: Alice <alice@example.org>, bob@example.org\r\nCc: carol@example.org\r\nSubject: Hello\r\n"))
        #expect(text.hasSuffix("\r\n\r\nBody\r\n"))
    }

    @Test("Sender: is the envelope sender when From: names several mailboxes")
    func senderField() throws {
        let message = try parse("From: a@example.org, b@example.org\nSender: list@example.org\nTo: c@example.org\n\nx")
        #expect(message.envelope.sender.value == "list@example.org")
    }

    @Test("Without From:, smtp.from is the sender and is written into the header")
    func defaultSender() throws {
        let message = try parse("To: c@example.org\nSubject: s\n\nx")
        #expect(message.envelope.sender.value == "admin@xnat.example.org")
        #expect(message.content.values(of: "From") == ["admin@xnat.example.org"])
    }

    @Test("Date and Message-ID are added when missing, kept when present")
    func dateAndMessageID() throws {
        let added = try parse("From: a@example.org\nTo: c@example.org\n\nx")
        #expect(added.content.values(of: "Message-ID") == ["<tok123@outbox.example.org>"])
        #expect(added.content.values(of: "Date") == ["Wed, 18 Nov 2026 11:06:40 +0000"])
        let kept = try parse("From: a@example.org\nTo: c@example.org\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <m@x>\n\nx")
        #expect(kept.content.values(of: "Message-ID") == ["<m@x>"])
        #expect(kept.content.values(of: "Date") == ["Mon, 1 Jan 2024 00:00:00 +0000"])
    }

    @Test("Bad input is refused with a reason a human understands",
          arguments: [
            ("garbage without header", "not an RFC 5322 message: line 1"),
            ("From: a@example.org\nSubject: no recipients\n\nx", "no recipients"),
            ("From: a@example.org\nTo: bob\n\nx", "invalid address in To: \"bob\": it has no @domain"),
            ("From: a@example.org\nTo: x@example.org\r\nRCPT TO:<evil@example.org>\n\nx", "not an RFC 5322 message: line 3"),
            ("", "the message is empty"),
          ])
    func rejections(text: String, reasonStart: String) {
        do {
            _ = try parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.reason.hasPrefix(reasonStart), "\(error.reason)")
        }
    }

    @Test("Without From: and without smtp.from the message is refused")
    func noSender() {
        let context = IncomingMessage.Context(defaultSender: nil, hostname: "h", now: UnixTime(seconds: 0), uniqueToken: "t")
        #expect(throws: IncomingMessage.Rejection("no sender: the message has no From: header and smtp.from is not set")) {
            try parse("To: c@example.org\n\nx", context: context)
        }
    }

    @Test("Line ends are normalized to CRLF (bare LF and bare CR)")
    func lineEnds() throws {
        let message = try parse("From: a@example.org\rTo: c@example.org\n\nline1\nline2\r\nline3")
        let text = String(decoding: message.content.bytes, as: UTF8.self)
        #expect(text.hasSuffix("\r\n\r\nline1\r\nline2\r\nline3\r\n"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\r"))
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        var scalars = Array(unicodeScalars)
        let pattern = Array(target.unicodeScalars)
        var result: [Unicode.Scalar] = []
        var index = 0
        while index < scalars.count {
            if index + pattern.count <= scalars.count, Array(scalars[index..<index + pattern.count]) == pattern {
                result += replacement.unicodeScalars
                index += pattern.count
            } else {
                result.append(scalars[index])
                index += 1
            }
        }
        scalars = result
        return String(String.UnicodeScalarView(scalars))
    }
}
