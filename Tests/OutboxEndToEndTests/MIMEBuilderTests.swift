import Foundation
import OutboxCore
import Testing

/// The .json → MIME builder, checked by Python's email package (a real parser).
@Suite("MIME built from .json spool messages, read by Python's email package")
struct MIMEBuilderTests {
    let context = IncomingMessage.Context(
        defaultSender: nil, hostname: "outbox.example.org", now: UnixTime(seconds: 1_795_000_000), uniqueToken: "tok123"
    )

    func build(_ object: [String: Any]) throws -> MIMESummary {
        let json = try JSONSerialization.data(withJSONObject: object)
        let message = try IncomingMessage(json: Array(json), context: context)
        return try MIMESummary(message: message.content.bytes)
    }

    @Test("text and html with two attachments: multipart/mixed around multipart/alternative, all parts decode back")
    func fullStructure() throws {
        let binary: [UInt8] = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let text = "Grüße aus Zürich — 10 € =\n" + String(repeating: "long line ", count: 30) + "\n.\nend\n"
        let summary = try build([
            "from": "Zoë Admin <admin@xnat.example.org>",
            "tos": ["Åsa <asa@example.org>", "\"Doe, John\" <john@example.org>"],
            "subject": "Résumé of your upload — project ÆØÅ with a subject long enough to need several encoded words",
            "text": text,
            "html": "<p>Grüße</p>\n",
            "attachments": [
                [
                    "filename": "report.pdf", "content_type": "application/pdf",
                    "content_base64": Data(binary).base64EncodedString(),
                ],
                [
                    "filename": "Übersicht.csv", "content_type": "text/csv",
                    "content_base64": Data("a,b\n1,2\n".utf8).base64EncodedString(),
                ],
            ],
        ])
        summary.expectWellFormed()
        #expect(
            summary.structure == "multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf,text/csv)"
        )
        #expect(
            summary.header("Subject")
                == "Résumé of your upload — project ÆØÅ with a subject long enough to need several encoded words")
        #expect(summary.header("From") == "Zoë Admin <admin@xnat.example.org>")
        #expect(summary.header("To") == "Åsa <asa@example.org>, \"Doe, John\" <john@example.org>")
        #expect(summary.header("MIME-Version") == "1.0")
        #expect(summary.text(of: "text/plain") == text)
        #expect(summary.text(of: "text/html") == "<p>Grüße</p>\n")
        let pdf = try #require(summary.attachment(named: "report.pdf"))
        #expect(pdf["base64"] as? String == Data(binary).base64EncodedString())
        #expect(pdf["disposition"] as? String == "attachment")
        let csv = try #require(summary.attachment(named: "Übersicht.csv"))
        #expect(csv["text"] as? String == "a,b\n1,2\n")
    }

    @Test("text only is a single text/plain part; html only a single text/html part", arguments: ["text", "html"])
    func singlePart(field: String) throws {
        let summary = try build(["from": "a@example.org", "tos": "b@example.org", field: "only this\n"])
        summary.expectWellFormed()
        #expect(summary.structure == (field == "text" ? "text/plain" : "text/html"))
        #expect(summary.text(of: summary.structure) == "only this\n")
    }

    @Test("Plain ASCII text stays 7bit; UTF-8 text is quoted-printable with charset utf-8")
    func transferEncodings() throws {
        let ascii = try build(["from": "a@example.org", "tos": "b@example.org", "text": "plain\n"])
        #expect(ascii.parts.first?["cte"] as? String == "7bit")
        let utf8 = try build(["from": "a@example.org", "tos": "b@example.org", "text": "naïve\n"])
        #expect(utf8.parts.first?["cte"] as? String == "quoted-printable")
        #expect(utf8.parts.first?["charset"] as? String == "utf-8")
        #expect(utf8.text(of: "text/plain") == "naïve\n")
    }

    @Test("Sender comes from onBehalfOf, custom headers survive, Bcc never appears")
    func headers() throws {
        let summary = try build([
            "from": "xnat@example.org", "onBehalfOf": "Dr Ünal <unal@example.org>", "tos": "b@example.org",
            "bccs": ["hidden@example.org"], "text": "x", "headers": ["X-XNAT-Event": ["upload"], "X-Label": "Ärger"],
        ])
        summary.expectWellFormed()
        #expect(summary.header("Sender") == "Dr Ünal <unal@example.org>")
        #expect(summary.header("X-XNAT-Event") == "upload")
        #expect(summary.header("X-Label") == "Ärger")
        #expect(summary.headers["Bcc"] == nil)
        #expect(summary.header("Message-ID") == "<tok123@outbox.example.org>")
        #expect(summary.header("Date") != nil)
    }
}
