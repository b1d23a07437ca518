import Foundation
import Testing

/// Large 8-bit messages through the real daemon to a real server (scripts/smtp-server.py): the
/// streamed 7-bit rewrite arrives whole, its SIZE= is what arrived, and it decodes to the text.
@Suite("Large 8-bit messages streamed to a real server", .serialized, .timeLimit(.minutes(3)))
struct LargeEightBitEndToEndTests {
    typealias Peer = SMTPSettingsTests.Peer

    /// The message as the server got it, byte for byte (the script stores it as latin-1).
    func bytes(_ received: SMTPTestServer.Received) -> [UInt8] {
        received.data.unicodeScalars.map { UInt8($0.value) }
    }

    /// RFC 2045 quoted-printable decoding, independent of the encoder.
    func decodeQP(_ bytes: [UInt8]) -> [UInt8] {
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case 48...57: b - 48
            case 65...70: b - 55
            default: nil
            }
        }
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "="), index + 2 < bytes.count {
                if bytes[index + 1] == 13, bytes[index + 2] == 10 {
                    index += 3  // soft line break
                    continue
                }
                if let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) {
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

    func split(_ message: [UInt8]) -> (header: String, body: [UInt8]) {
        let text = String(decoding: message, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return (text, []) }
        return (String(text[..<end.lowerBound]), Array(text[end.upperBound...].utf8))
    }

    @Test("A 3 MB 8-bit .eml and a 3 MB 8-bit JSON text arrive base64, byte-exact after decoding, SIZE= exact")
    func largeEightBit() async throws {
        let peer = try Peer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)"])
        try await daemon.start()

        let line = "Grüße aus dem Ärztehaus — ça va? 日本語のテキスト\n"
        let text = String(repeating: line, count: 3_000_000 / line.utf8.count)
        try daemon.drop("big.eml", "From: a@example.org\nTo: b@example.org\nSubject: big\n\n" + text)
        let json = try JSONSerialization.data(
            withJSONObject: ["from": "a@example.org", "tos": ["c@example.org"], "subject": "big json", "text": text])
        try daemon.drop("big.json", String(decoding: json, as: UTF8.self))

        #expect(await eventually(timeout: .seconds(90)) { peer.server.received().count == 2 }, "\(daemon.logText)")
        let expected = Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        for received in peer.server.received() {
            let message = bytes(received)
            #expect(message.allSatisfy { $0 < 0x80 }, "7-bit on the wire")
            let (header, body) = split(message)
            #expect(header.contains("Content-Transfer-Encoding: base64"), "\(header)")
            let decoded = Data(base64Encoded: Data(body), options: .ignoreUnknownCharacters).map(Array.init)
            #expect(decoded == expected, "\(received.rcpt_tos): \(body.count) bytes of body")
            let size = received.mail_options?.first { $0.uppercased().hasPrefix("SIZE=") }
            #expect(size == "SIZE=\(message.count)", "announced \(size ?? "nothing"), received \(message.count)")
        }
        daemon.terminate()
    }

    @Test("A long 8-bit line in a mostly ASCII .eml arrives quoted-printable, every line within limits, text exact")
    func longLine() async throws {
        let peer = try Peer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)"])
        try await daemon.start()
        let long = String(repeating: "data point 42, ", count: 100_000) + "naïve\n"
        try daemon.drop("long.eml", "From: a@example.org\nTo: b@example.org\nSubject: long\n\n" + long + "end\n")
        #expect(await eventually(timeout: .seconds(60)) { peer.server.received().count == 1 }, "\(daemon.logText)")
        let message = bytes(try #require(peer.server.received().first))
        let (header, body) = split(message)
        #expect(header.contains("Content-Transfer-Encoding: quoted-printable"), "\(header)")
        let lines = String(decoding: body, as: UTF8.self).components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 76 })
        #expect(decodeQP(body) == Array((long + "end\n").replacingOccurrences(of: "\n", with: "\r\n").utf8))
        let size = peer.server.received().first?.mail_options?.first { $0.uppercased().hasPrefix("SIZE=") }
        #expect(size == "SIZE=\(message.count)")
        daemon.terminate()
    }
}
