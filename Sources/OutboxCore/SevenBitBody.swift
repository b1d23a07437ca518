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
        foldOverlongHeaderLines(encodeSubject(encode(message, isPart: false)))
    }

    /// RFC 5322 §2.1.1: a header line is at most 998 octets. A producer's longer line (a References:
    /// or a Subject without spaces) would be refused by the server with "500 Line too long", a
    /// permanent failure that is our output's fault: such a line is folded before white space
    /// where it has some, else broken with CRLF SP as Postfix does (`smtp_line_length_limit`).
    /// Long runs of white space become one space, so no folded line is white space only.
    static func foldOverlongHeaderLines(_ message: RawMessage) -> RawMessage {
        guard message.fields.contains(where: { $0.lines.contains { $0.count > 998 } }) else { return message }
        var result = message
        result.rewriteFields { fields in
            for index in fields.indices where fields[index].lines.contains(where: { $0.count > 998 }) {
                fields[index].lines = fields[index].lines.flatMap { $0.count > 998 ? fold($0) : [$0] }
            }
        }
        return result
    }

    /// Lines of at most 998 octets, cut before white space where the line has some (and not in
    /// its first 78 octets, so lines stay long enough), else cut with a space inserted; each
    /// continuation line starts with white space and has something else after it.
    static func fold(_ line: [UInt8]) -> [[UInt8]] {
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 }
        var squeezed: [UInt8] = []  // runs of white space become one; trailing white space goes
        squeezed.reserveCapacity(line.count)
        for byte in line where !(isSpace(byte) && squeezed.last.map(isSpace) == true) { squeezed.append(byte) }
        while squeezed.count > 1, let last = squeezed.last, isSpace(last) { squeezed.removeLast() }
        var lines: [[UInt8]] = []
        var current: [UInt8] = []
        var index = 0
        while true {
            let room = 998 - current.count
            if squeezed.count - index <= room {
                current += squeezed[index...]
                break
            }
            var cut = index + room
            while cut > index && current.count + (cut - index) > 78 && !isSpace(squeezed[cut]) { cut -= 1 }
            if cut > index && current.count + (cut - index) > 78 && isSpace(squeezed[cut]) {
                current += squeezed[index..<cut]
                lines.append(current)
                current = []
                index = cut  // the continuation line starts with that white space
            } else {
                current += squeezed[index..<(index + room)]
                lines.append(current)
                current = [32]
                index += room
            }
        }
        lines.append(current)
        return lines
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

    // MARK: The MIME walk

    /// Re-encodes what needs it, in time and memory linear in the message however deep its MIME
    /// nesting: one pass finds every entity (``MIMEStructure``), a second writes the result, copying
    /// untouched ranges as they are. (The recursive walk this replaces copied each level's whole
    /// body again: 3 000 nested levels took 14 s and 1.9 GB, issue 14.)
    private static func encode(_ message: RawMessage, isPart: Bool) -> RawMessage {
        let structure = MIMEStructure(message.bytes)
        guard structure.entities[0].isDirty else { return message }
        var out: [UInt8] = []
        // Allocated once: at most the whole message as quoted-printable, plus the new header fields.
        out.reserveCapacity(QuotedPrintable.encodedSizeBound(message.bytes[...]) + 128 * structure.entities.count)
        write(entity: 0, of: structure, from: message.bytes, isPart: isPart, to: &out)
        return RawMessage(normalizedBytes: out)
    }

    private static func write(entity index: Int, of structure: MIMEStructure, from bytes: [UInt8], isPart: Bool,
                              to out: inout [UInt8]) {
        let entity = structure.entities[index]
        guard entity.isDirty, let header = entity.header, let bodyStart = entity.bodyStart else {
            out.append(contentsOf: bytes[entity.start..<entity.end])
            return
        }
        let encoding = header.values(of: "Content-Transfer-Encoding").first?.lowercased() ?? "7bit"
        let contentType = header.values(of: "Content-Type").first ?? ""
        let type = contentType.lowercased()
        guard encoding == "7bit" || encoding == "8bit", !type.hasPrefix("message/") else {  // base64, QP, binary
            out.append(contentsOf: bytes[entity.start..<entity.end])
            return
        }
        var newHeader = header
        if type.hasPrefix("multipart/") {
            // Parts nested deeper than MIMEStructure.maximumDepth are not walked: intake refuses
            // such messages, and one queued before is sent as it is.
            guard entity.isMultipart else {
                out.append(contentsOf: bytes[entity.start..<entity.end])
                return
            }
            if !header.values(of: "Content-Transfer-Encoding").isEmpty {
                newHeader.replaceFirstField(
                    named: "Content-Transfer-Encoding", with: field("Content-Transfer-Encoding", "7bit"))
            }
            out.append(contentsOf: newHeader.bytes)
            var cursor = bodyStart
            for child in entity.children {
                let part = structure.entities[child]
                out.append(contentsOf: bytes[cursor..<part.start])
                write(entity: child, of: structure, from: bytes, isPart: true, to: &out)
                cursor = part.end
            }
            out.append(contentsOf: bytes[cursor..<entity.end])
            return
        }
        newHeader.replaceFirstField(
            named: "Content-Transfer-Encoding", with: field("Content-Transfer-Encoding", "quoted-printable"))
        if contentType.isEmpty {
            newHeader.appendField(name: "Content-Type", value: "text/plain; charset=utf-8")
        }
        if !isPart && newHeader.values(of: "MIME-Version").isEmpty {
            newHeader.appendField(name: "MIME-Version", value: "1.0")
        }
        out.append(contentsOf: newHeader.bytes)
        QuotedPrintable.encode(bytes[bodyStart..<entity.end], into: &out)
    }

    private static func field(_ name: String, _ value: String) -> RawMessage.Field {
        RawMessage.Field(name: name, lines: [Array("\(name): \(value)".utf8)])
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
