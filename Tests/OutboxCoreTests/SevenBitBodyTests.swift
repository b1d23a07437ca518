import Foundation
import OutboxCore
import Testing

@Suite("7-bit bodies for a client without 8BITMIME")
struct SevenBitBodyTests {
    func message(_ text: String) throws -> RawMessage {
        try RawMessage(normalizing: Array(text.utf8))
    }

    /// RFC 2045 quoted-printable decoding, independent of the encoder.
    static func decodeQP(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case 48...57: b - 48
            case 65...70: b - 55
            default: nil
            }
        }
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "=") {
                if index + 2 < bytes.count, bytes[index + 1] == 13, bytes[index + 2] == 10 {
                    index += 3  // soft line break
                    continue
                }
                if index + 2 < bytes.count, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) {
                    out.append(high << 4 | low)
                    index += 3
                    continue
                }
            }
            out.append(bytes[index])
            index += 1
        }
        return out
    }

    func body(_ message: RawMessage) -> String { String(decoding: message.body, as: UTF8.self) }

    @Test("An 8-bit UTF-8 body becomes quoted-printable: ASCII only, lines ≤ 76, and decodes to the same text")
    func singlePart() throws {
        let long = String(repeating: "Grüße aus dem Labor, ", count: 12)
        let original = try message("From: a@example.org\nTo: b@example.org\nSubject: s\n\nHallo Jürgen,\n\(long)\nend with space \n= sign\n")
        let sent = SevenBitBody.apply(to: original)
        #expect(sent.bytes.allSatisfy { $0 < 0x80 })
        #expect(sent.values(of: "Content-Transfer-Encoding") == ["quoted-printable"])
        #expect(sent.values(of: "Content-Type") == ["text/plain; charset=utf-8"])
        #expect(sent.values(of: "MIME-Version") == ["1.0"])
        #expect(body(sent).split(separator: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        #expect(Self.decodeQP(body(sent)) == Array(original.body))
    }

    @Test("A 7-bit line over 998 octets (RFC 5321's limit) is re-encoded as quoted-printable, the text unchanged")
    func overlongLine() throws {
        let original = try message("From: a@example.org\nSubject: s\n\nshort\n\(String(repeating: "x", count: 1500))\nend\n")
        let sent = SevenBitBody.apply(to: original)
        #expect(sent.values(of: "Content-Transfer-Encoding") == ["quoted-printable"])
        #expect(body(sent).split(separator: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        #expect(Self.decodeQP(body(sent)) == Array(original.body))
        let exactlyAtLimit = try message("From: a@example.org\nSubject: s\n\n\(String(repeating: "y", count: 998))\n")
        #expect(SevenBitBody.apply(to: exactlyAtLimit) == exactlyAtLimit, "998 octets is allowed and left alone")
    }

    @Test("7-bit bodies, base64 and quoted-printable bodies are sent exactly as stored")
    func untouched() throws {
        let plain = try message("From: a@example.org\nSubject: s\n\nplain ascii\n")
        #expect(SevenBitBody.apply(to: plain) == plain)
        let base64 = try message("From: a@example.org\nContent-Transfer-Encoding: base64\n\nR3LDvMOfZQ==\n")
        #expect(SevenBitBody.apply(to: base64) == base64)
    }

    @Test("In a multipart message only the 8-bit parts are re-encoded; boundaries and other parts stay")
    func multipart() throws {
        let original = try message("""
            From: a@example.org
            MIME-Version: 1.0
            Content-Type: multipart/alternative; boundary="b1"
            Content-Transfer-Encoding: 8bit

            preamble
            --b1
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: 8bit

            Grüße
            --b1
            Content-Type: text/html; charset=us-ascii

            <p>plain</p>
            --b1--

            """)
        let sent = SevenBitBody.apply(to: original)
        let text = body(sent)
        #expect(sent.bytes.allSatisfy { $0 < 0x80 })
        #expect(sent.values(of: "Content-Transfer-Encoding") == ["7bit"])
        #expect(text.hasPrefix("preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n--b1\r\n"), "\(text)")
        #expect(text.hasSuffix("--b1\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<p>plain</p>\r\n--b1--\r\n"), "\(text)")
        #expect(!text.contains("MIME-Version"), "no MIME-Version inside a part")
    }

    @Test("A raw UTF-8 Subject is sent as RFC 2047 encoded-words, folded, that decode to the same text")
    func subject() throws {
        let text = "[XNAT] Ihre Daten sind bereit — Grüße aus dem Labor für Bildgebung"
        let sent = SevenBitBody.apply(to: try message("From: a@example.org\nSubject: \(text)\n\nascii\n"))
        #expect(sent.bytes.allSatisfy { $0 < 0x80 })
        let field = try #require(sent.fields.first { $0.name == "Subject" })
        #expect(field.lines.count > 1, "folded")
        #expect(field.lines.allSatisfy { $0.count <= 78 })
        let words = field.value.split(separator: " ")
        #expect(words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") })
        let decoded = words.compactMap { Data(base64Encoded: String($0.dropFirst(10).dropLast(2))) }.reduce(Data(), +)
        #expect(String(decoding: decoded, as: UTF8.self) == text)
        let ascii = try message("From: a@example.org\nSubject: =?ISO-8859-1?Q?Gr=FC=DFe?=\n\nascii\n")
        #expect(SevenBitBody.apply(to: ascii) == ascii, "an already encoded Subject is left alone")
    }
}
