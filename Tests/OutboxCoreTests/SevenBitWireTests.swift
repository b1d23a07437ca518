import Foundation
import OutboxCore
import Testing

/// The streamed send-time rewrite (`SevenBitBody.wire(for:)`, `SMTPBodyStream`): the announced
/// length is what is streamed, and the bytes decode back to the stored body exactly.
@Suite("7-bit wire form streamed to libcurl")
struct SevenBitWireTests {
    func message(_ text: String) throws -> RawMessage {
        try RawMessage(normalizing: Array(text.utf8))
    }

    /// Reads the stream `size` bytes at a time, as libcurl's read callback does.
    func streamed(_ wire: SevenBitWire, readSize: Int) -> [UInt8] {
        let stream = wire.makeStream()
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: readSize)
        while true {
            let count = buffer.withUnsafeMutableBytes { stream.read(into: $0) }
            if count == 0 { break }
            out += buffer[0..<count]
        }
        return out
    }

    func base64Decoded(_ body: ArraySlice<UInt8>) -> [UInt8]? {
        Data(base64Encoded: Data(body), options: .ignoreUnknownCharacters).map { Array($0) }
    }

    func lines(_ bytes: some Collection<UInt8>) -> [ArraySlice<UInt8>] {
        Array(bytes).split(separator: 10, omittingEmptySubsequences: false).map { $0.last == 13 ? $0.dropLast() : $0 }
    }

    static let bodies: [String] = [
        "ascii only\n",
        "Grüße\n",
        String(repeating: "é", count: 40_000) + "\n",  // 80 KB of 8-bit text: base64
        String(repeating: "x", count: 150_000) + "é\n",  // one long line, mostly ASCII: quoted-printable
        String(repeating: "ab \t= é\n", count: 30_000),  // pieces end anywhere in a line
    ]

    @Test("The streamed length equals the announced one, whatever the read size, and equals the whole-message form",
          arguments: [1, 7, 16_384, 1 << 20])
    func lengthMatches(readSize: Int) throws {
        for body in Self.bodies {
            let original = try message("From: a@example.org\nSubject: Grüße\n\n" + body)
            let wire = SevenBitBody.wire(for: original)
            let bytes = streamed(wire, readSize: readSize)
            #expect(bytes.count == wire.length, "\(body.prefix(20))")
            #expect(bytes == wire.bytes())
            #expect(bytes.allSatisfy { $0 < 0x80 && $0 != 0 })
            #expect(lines(bytes).allSatisfy { $0.count <= 998 })
        }
    }

    @Test("A large 8-bit text body goes base64 in lines of 76 and decodes to the stored body byte for byte")
    func largeEightBitGoesBase64() throws {
        let text = String(repeating: "Grüße aus dem Ärztehaus — ça va? 日本語\n", count: 4_000)
        let original = try message("From: a@example.org\n\n" + text)
        let sent = SevenBitBody.apply(to: original)
        #expect(sent.values(of: "Content-Transfer-Encoding") == ["base64"])
        #expect(sent.values(of: "Content-Type") == ["text/plain; charset=utf-8"])
        #expect(sent.values(of: "MIME-Version") == ["1.0"])
        let bodyLines = lines(sent.body).filter { !$0.isEmpty }
        #expect(bodyLines.dropLast().allSatisfy { $0.count == 76 })
        #expect(base64Decoded(sent.body) == Array(original.body))
        #expect(sent.bytes.count == SevenBitBody.wire(for: original).length)
    }

    @Test("Quoted-printable or base64: the shorter one for a body of 64 KiB or more, quoted-printable below",
          arguments: [
            (String(repeating: "é", count: 40_000), "base64"),  // 80 KB, QP would be 3 times
            (String(repeating: "é", count: 30_000), "quoted-printable"),  // 60 KB: under the threshold
            (String(repeating: "plain text ", count: 9_000) + "é", "quoted-printable"),  // mostly ASCII
          ])
    func encodingChoice(body: String, expected: String) throws {
        let sent = SevenBitBody.apply(to: try message("From: a@example.org\n\n\(body)\n"))
        #expect(sent.values(of: "Content-Transfer-Encoding") == [expected])
    }

    @Test("Streamed quoted-printable is the one-shot encoding exactly, a long line and CRLFs across piece boundaries")
    func quotedPrintableAcrossPieces() throws {
        // Lines of every length from 1 to 300 with 8-bit bytes, spaces before line ends and '='.
        var body = ""
        for length in 1...300 {
            let last = length % 3 == 0 ? " " : length % 3 == 1 ? "=" : "ü"
            body += String(repeating: "a", count: length - 1) + last + "\n"
        }
        body += String(repeating: "long line ", count: 20_000) + "\n"
        let original = try message("From: a@example.org\n\n" + body)
        let wire = SevenBitBody.wire(for: original)
        let sent = RawMessage(normalizedBytes: streamed(wire, readSize: 4_096))
        #expect(sent.values(of: "Content-Transfer-Encoding") == ["quoted-printable"])
        #expect(Array(sent.body) == QuotedPrintable.encode(original.body))
        #expect(SevenBitBodyTests.decodeQP(String(decoding: sent.body, as: UTF8.self)) == Array(original.body))
        #expect(lines(sent.body).allSatisfy { $0.count <= 76 })
    }

    @Test("In a multipart only the large 8-bit part goes base64; the others and every boundary are sent as stored")
    func multipartPart() throws {
        let big = String(repeating: "ñandú ", count: 20_000)
        let original = try message("""
            From: a@example.org
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="b"

            preamble
            --b
            Content-Type: text/plain; charset=us-ascii

            plain part
            --b
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: 8bit

            \(big)
            --b--

            """)
        let wire = SevenBitBody.wire(for: original)
        let bytes = streamed(wire, readSize: 16_384)
        #expect(bytes.count == wire.length)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("From: a@example.org\r\nMIME-Version: 1.0\r\n"))
        #expect(text.contains(
            "\r\n\r\npreamble\r\n--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nplain part\r\n--b\r\n"))
        #expect(text.contains("Content-Transfer-Encoding: base64\r\n\r\n"))
        #expect(text.hasSuffix("\r\n--b--\r\n"))
        let start = text.range(of: "base64\r\n\r\n")!.upperBound
        let end = text.range(of: "\r\n--b--")!.lowerBound
        #expect(base64Decoded(ArraySlice(text[start..<end].utf8)) == Array(big.utf8))
    }

    @Test("A clean message is streamed as stored, and announced with its own length")
    func unchanged() throws {
        let original = try message("From: a@example.org\nSubject: plain\n\nhello\n")
        let wire = SevenBitBody.wire(for: original)
        #expect(wire.isUnchanged)
        #expect(wire.length == original.bytes.count)
        #expect(streamed(wire, readSize: 3) == original.bytes)
    }

    @Test("A large 8-bit JSON text is built base64 and decodes to the text with CRLF line ends")
    func jsonTextBase64() throws {
        let text = String(repeating: "Ärger über Öl\n", count: 6_000)
        let json = try JSONSerialization.data(
            withJSONObject: ["from": "a@example.org", "tos": ["b@example.org"], "text": text])
        let context = IncomingMessage.Context(
            defaultSender: nil, hostname: "h.example.org", now: UnixTime(seconds: 1_795_000_000), uniqueToken: "t")
        let incoming = try IncomingMessage(spoolFileNamed: "a.json", content: Array(json), context: context)
        #expect(incoming.content.values(of: "Content-Transfer-Encoding") == ["base64"])
        #expect(base64Decoded(incoming.content.body) == Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
        #expect(SevenBitBody.wire(for: incoming.content).isUnchanged, "already 7-bit: nothing to rewrite at send time")
    }
}
