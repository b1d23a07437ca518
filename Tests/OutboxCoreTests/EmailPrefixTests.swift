import OutboxCore
import Testing

@Suite("Email prefix, as XNAT renders it")
struct EmailPrefixTests {
    @Test("A plain prefix is bracketed; a bracketed one is used as written; an existing one is not repeated",
          arguments: [
            ("XNAT", "Password reset", "[XNAT] Password reset"),
            ("[My Site]", "Password reset", "[My Site] Password reset"),
            ("  XNAT ", "Hello", "[XNAT] Hello"),
            ("XNAT", "[XNAT] Password reset", "[XNAT] Password reset"),
            ("", "Password reset", "Password reset"),
            ("XNAT", "", "[XNAT]"),
          ])
    func subjects(prefix: String, subject: String, expected: String) {
        #expect(EmailPrefix(prefix).apply(toSubject: subject) == expected)
    }

    @Test("The Subject header is rewritten once, other bytes stay as they were")
    func header() throws {
        let message = try RawMessage(normalizing: Array("From: a@b.org\nSubject: Reset\nX-A: 1\n\nbody\n".utf8))
        let once = EmailPrefix("XNAT").apply(to: message)
        let twice = EmailPrefix("XNAT").apply(to: once)
        #expect(String(decoding: once.bytes, as: UTF8.self) == "From: a@b.org\r\nSubject: [XNAT] Reset\r\nX-A: 1\r\n\r\nbody\r\n")
        #expect(twice == once)
    }

    @Test("Folded and encoded subjects keep their folding and encoded-words")
    func foldedEncoded() throws {
        let message = try RawMessage(normalizing: Array("Subject: =?UTF-8?B?w6lsw6g=?=\n more\n\nx\n".utf8))
        let result = String(decoding: EmailPrefix("XNAT").apply(to: message).bytes, as: UTF8.self)
        #expect(result == "Subject: [XNAT] =?UTF-8?B?w6lsw6g=?=\r\n more\r\n\r\nx\r\n")
    }

    @Test("A message without Subject gets one with the prefix")
    func missingSubject() throws {
        let message = try RawMessage(normalizing: Array("From: a@b.org\n\nx\n".utf8))
        #expect(EmailPrefix("XNAT").apply(to: message).values(of: "Subject") == ["[XNAT]"])
    }

    @Test("A non-ASCII prefix is sent as an RFC 2047 encoded-word, so the header stays 7-bit")
    func nonASCII() throws {
        let message = try RawMessage(normalizing: Array("Subject: Hi\n\nx\n".utf8))
        let result = EmailPrefix("Zürich").apply(to: message)
        #expect(result.values(of: "Subject") == ["=?UTF-8?B?W1rDvHJpY2hd?= Hi"])
        #expect(result.bytes.allSatisfy { $0 < 0x80 })
    }

    @Test("A long non-ASCII prefix becomes several encoded-words of at most 75 characters (RFC 2047 §2), as every header does")
    func longNonASCII() throws {
        let message = try RawMessage(normalizing: Array("Subject: Hi\n\nx\n".utf8))
        let prefix = String(repeating: "Universität ", count: 6) + "Zürich"
        let subject = try #require(EmailPrefix(prefix).apply(to: message).values(of: "Subject").first)
        let words = subject.split(separator: " ").dropLast()
        #expect(words.count > 1)
        #expect(words.allSatisfy { $0.count <= 75 && $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") })
    }
}
