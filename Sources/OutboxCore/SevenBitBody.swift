/// Makes a message's body 7-bit clean for the wire, without changing what the recipient sees.
///
/// libcurl never sends `BODY=8BITMIME`, so 8-bit bytes after `DATA` break RFC 5321 and some relays
/// mangle or refuse them. A body (or MIME part) with bytes ≥ 0x80 or NUL, or with a line over 998
/// octets, that is sent as is
/// (`7bit`, `8bit` or no Content-Transfer-Encoding) is re-encoded as quoted-printable and labelled
/// so; multipart bodies are walked part by part (nested ones too). `base64`/`quoted-printable`
/// parts and `message/*` parts (which may not be re-encoded) are left alone. A body without a
/// Content-Type is taken as UTF-8 text, what XNAT writes. Of the header fields only a raw UTF-8
/// Subject is encoded (RFC 2047); addresses' display names are left as written.
public enum SevenBitBody {
    /// The message as it goes on the wire; the stored message is never changed.
    public static func apply(to message: RawMessage) -> RawMessage {
        encodeSubject(encode(message, isPart: false))
    }

    /// A Subject written in raw UTF-8 becomes RFC 2047 encoded-words (`=?UTF-8?B?…?=`), folded,
    /// so the header is 7-bit too; mail readers show the same text.
    static func encodeSubject(_ message: RawMessage) -> RawMessage {
        guard let subject = message.fields.first(where: { $0.name.lowercased() == "subject" }),
            subject.lines.contains(where: { needsEncoding($0) })
        else { return message }
        // 39 bytes of UTF-8 per word keep "Subject: " plus a word under 78 characters.
        let words = RFC2047.encodedWords(subject.value, maxBytes: 39)
        var lines = [Array("\(subject.name): \(words.first ?? "")".utf8)]
        lines += words.dropFirst().map { Array(" \($0)".utf8) }
        var result = message
        result.replaceFirstField(named: "Subject", with: RawMessage.Field(name: subject.name, lines: lines))
        return result
    }

    static func needsEncoding(_ bytes: some Sequence<UInt8>) -> Bool {
        bytes.contains { $0 >= 0x80 || $0 == 0 }
    }

    /// RFC 5321 §4.5.3.1.6: a line is at most 998 octets before CRLF; servers answer a longer one
    /// with "500 Line too long" (aiosmtpd does), which would fail the mail. Postfix wraps such lines
    /// (smtp_line_length_limit); we re-encode the body as quoted-printable, which keeps the text.
    static func hasOverlongLine(_ bytes: some Sequence<UInt8>) -> Bool {
        var length = 0
        for byte in bytes {
            if byte == 10 || byte == 13 {
                length = 0
            } else {
                length += 1
                if length > 998 { return true }
            }
        }
        return false
    }

    private static func encode(_ message: RawMessage, isPart: Bool) -> RawMessage {
        guard needsEncoding(message.body) || hasOverlongLine(message.body) else { return message }
        let encoding = message.values(of: "Content-Transfer-Encoding").first?.lowercased() ?? "7bit"
        guard encoding == "7bit" || encoding == "8bit" else { return message }  // base64, QP, binary
        let contentType = message.values(of: "Content-Type").first ?? ""
        let type = contentType.lowercased()
        if type.hasPrefix("message/") { return message }
        if type.hasPrefix("multipart/") {
            guard let boundary = parameter("boundary", in: contentType) else { return message }
            var result = replacingBody(of: message, with: encodeParts(Array(message.body), boundary: boundary))
            if !message.values(of: "Content-Transfer-Encoding").isEmpty {
                result.replaceFirstField(named: "Content-Transfer-Encoding", with: field("Content-Transfer-Encoding", "7bit"))
            }
            return result
        }
        var result = replacingBody(of: message, with: QuotedPrintable.encode(Array(message.body)))
        result.replaceFirstField(named: "Content-Transfer-Encoding", with: field("Content-Transfer-Encoding", "quoted-printable"))
        if contentType.isEmpty {
            result.appendField(name: "Content-Type", value: "text/plain; charset=utf-8")
        }
        if !isPart && result.values(of: "MIME-Version").isEmpty {
            result.appendField(name: "MIME-Version", value: "1.0")
        }
        return result
    }

    private static func field(_ name: String, _ value: String) -> RawMessage.Field {
        RawMessage.Field(name: name, lines: [Array("\(name): \(value)".utf8)])
    }

    private static func replacingBody(of message: RawMessage, with body: [UInt8]) -> RawMessage {
        // Called only for a non-empty body, so the header part ends with its blank line.
        RawMessage(normalizedBytes: Array(message.bytes[..<(message.bytes.count - message.body.count)]) + body)
    }

    /// Re-encodes each part between the boundary delimiters; preamble, delimiters and epilogue stay.
    private static func encodeParts(_ body: [UInt8], boundary: String) -> [UInt8] {
        let delimiter = Array("--\(boundary)".utf8)
        let lines = splitLines(body)
        var out: [[UInt8]] = []
        var part: [[UInt8]]? = nil
        var closed = false
        for line in lines {
            let trimmed = Array(line.reversed().drop { $0 == 32 || $0 == 9 }.reversed())
            let isDelimiter = !closed && (trimmed == delimiter || trimmed == delimiter + [45, 45])
            if isDelimiter {
                if let part {
                    let encoded = encode(RawMessage(normalizedBytes: joinLines(part)), isPart: true)
                    out += splitLines(encoded.bytes)
                }
                out.append(line)
                closed = trimmed != delimiter
                part = closed ? nil : []
            } else if part != nil {
                part!.append(line)
            } else {
                out.append(line)
            }
        }
        if let part { out += part }  // no closing delimiter: leave the rest as it was
        return joinLines(out)
    }

    /// Lines without their CRLF; a final CRLF gives a final empty line, so `joinLines` restores it.
    static func splitLines(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var current: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == 13, index + 1 < bytes.count, bytes[index + 1] == 10 {
                lines.append(current)
                current = []
                index += 2
            } else {
                current.append(bytes[index])
                index += 1
            }
        }
        lines.append(current)
        return lines
    }

    static func joinLines(_ lines: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for (index, line) in lines.enumerated() {
            if index > 0 { out += [13, 10] }
            out += line
        }
        return out
    }

    /// `name=value` or `name="value"` from a header value such as `multipart/mixed; boundary="x"`.
    static func parameter(_ name: String, in value: String) -> String? {
        for piece in value.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, String(pair[0]).trimmingWhitespace().lowercased() == name else { continue }
            var result = String(pair[1]).trimmingWhitespace()
            if result.hasPrefix("\"") && result.hasSuffix("\"") && result.count >= 2 {
                result = String(result.dropFirst().dropLast())
            }
            return result
        }
        return nil
    }
}
