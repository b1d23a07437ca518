import OutboxCore
import Testing

@Suite("smtp.from_policy rewrite")
struct FromRewriteTests {
    static let rewrite = FromRewrite(mailbox: try! EmailAddress("xnat-mailer@example.org"))

    static func rewritten(_ header: String) throws -> RawMessage {
        let message = try RawMessage(normalizing: Array((header + "Subject: s\n\nbody\n").utf8))
        return rewrite.apply(to: message)
    }

    @Test("From becomes the mailbox, the author its display name and Reply-To")
    func author() throws {
        let message = try Self.rewritten("From: Alice Example <alice@xnat.example.org>\n")
        #expect(message.values(of: "From") == ["Alice Example via XNAT <xnat-mailer@example.org>"])
        #expect(message.values(of: "Reply-To") == ["Alice Example <alice@xnat.example.org>"])
    }

    @Test("A bare address (cron's root@host) becomes the display name; an existing Reply-To is kept")
    func bareAddressAndReplyTo() throws {
        let message = try Self.rewritten("From: root@xnat.example.org\nReply-To: help@example.org\n")
        #expect(message.values(of: "From") == ["\"root@xnat.example.org via XNAT\" <xnat-mailer@example.org>"])
        #expect(message.values(of: "Reply-To") == ["help@example.org"])
    }

    @Test("Quoted and encoded display names survive; mail already from the mailbox is untouched")
    func namesAndUntouched() throws {
        let quoted = try Self.rewritten("From: \"Doe, Jane\" <jane@example.org>\n")
        #expect(quoted.values(of: "From") == ["\"Doe, Jane via XNAT\" <xnat-mailer@example.org>"])
        let encoded = try Self.rewritten("From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.org>\n")
        #expect(encoded.values(of: "From") == ["=?UTF-8?B?SsO8cmdlbg==?= via XNAT <xnat-mailer@example.org>"])
        let original = try RawMessage(normalizing: Array("From: XNAT <XNAT-Mailer@example.org>\nSubject: s\n\nb\n".utf8))
        #expect(Self.rewrite.apply(to: original) == original)
    }
}
