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
    /// The message as it goes on the wire, whole in memory (tests, small messages); the daemon
    /// streams ``wire(for:)`` instead. The stored message is never changed.
    public static func apply(to message: RawMessage) -> RawMessage {
        RawMessage(normalizedBytes: wire(for: message).bytes())
    }

    /// How the message goes on the wire: which ranges are sent as they are, which header blocks
    /// are new, which bodies are re-encoded how, and the exact length of the result (SIZE=).
    /// Nothing is encoded here beyond counting; ``SMTPBodyStream`` produces the bytes as they are
    /// sent, so a large 8-bit body is never held a second time in its wire form.
    public static func wire(for message: RawMessage) -> SevenBitWire {
        let structure = MIMEStructure(message.bytes)
        var plan = SevenBitWire.Builder(source: message.bytes)
        guard structure.entities[0].header != nil else {
            // Header only, no blank line: there is no body to re-encode.
            plan.append(bytes: foldOverlongHeaderLines(encodeSubject(message)).bytes)
            return plan.wire
        }
        write(entity: 0, of: structure, from: message.bytes, isPart: false, to: &plan)
        return plan.wire
    }

    /// A text body at least this large is sent base64 when that is shorter than quoted-printable
    /// (mostly non-ASCII text: QP takes 3 octets a byte, base64 4 per 3). Smaller ones stay
    /// quoted-printable, which a human can still read in the raw message.
    public static let base64Threshold = 65_536

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

    // MARK: The MIME walk

    /// Plans the re-encoding of what needs it, in time and memory linear in the message however
    /// deep its MIME nesting: one pass finds every entity (``MIMEStructure``), a second lists the
    /// result's pieces, untouched ranges as references. (The recursive walk this replaces copied
    /// each level's whole body again: 3 000 nested levels took 14 s and 1.9 GB, issue 14.) The
    /// message's own header also gets its Subject encoded and overlong lines folded.
    private static func write(entity index: Int, of structure: MIMEStructure, from bytes: [UInt8], isPart: Bool,
                              to plan: inout SevenBitWire.Builder) {
        let entity = structure.entities[index]
        // A part whose delimiter follows its blank line at once ends before its body starts (the
        // CRLF before a delimiter belongs to the delimiter).
        guard let header = entity.header, let bodyStart = entity.bodyStart, bodyStart <= entity.end else {
            plan.append(copy: entity.start..<entity.end)
            return
        }
        func emit(header newHeader: RawMessage) {
            if index == 0 {
                let top = foldOverlongHeaderLines(encodeSubject(newHeader))
                if top == header { plan.append(copy: entity.start..<bodyStart) } else { plan.append(bytes: top.bytes) }
            } else if newHeader == header {
                plan.append(copy: entity.start..<bodyStart)
            } else {
                plan.append(bytes: newHeader.bytes)
            }
        }
        let encoding = header.values(of: "Content-Transfer-Encoding").first?.lowercased() ?? "7bit"
        let contentType = header.values(of: "Content-Type").first ?? ""
        let type = contentType.lowercased()
        guard entity.isDirty, encoding == "7bit" || encoding == "8bit", !type.hasPrefix("message/") else {
            emit(header: header)  // clean, or base64, QP, binary, message/*: the body as it is
            plan.append(copy: bodyStart..<entity.end)
            return
        }
        var newHeader = header
        if type.hasPrefix("multipart/") {
            // Parts nested deeper than MIMEStructure.maximumDepth are not walked: intake refuses
            // such messages, and one queued before is sent as it is.
            guard entity.isMultipart else {
                emit(header: header)
                plan.append(copy: bodyStart..<entity.end)
                return
            }
            if !header.values(of: "Content-Transfer-Encoding").isEmpty {
                newHeader.replaceFirstField(
                    named: "Content-Transfer-Encoding", with: field("Content-Transfer-Encoding", "7bit"))
            }
            emit(header: newHeader)
            var cursor = bodyStart
            for child in entity.children {
                let part = structure.entities[child]
                plan.append(copy: cursor..<part.start)
                write(entity: child, of: structure, from: bytes, isPart: true, to: &plan)
                cursor = part.end
            }
            plan.append(copy: cursor..<entity.end)
            return
        }
        let body = bodyStart..<entity.end
        let base64Length = Base64Lines.encodedLength(of: body.count)
        // The exact quoted-printable length (a second pass) only when base64 is not clearly shorter.
        let base64 =
            body.count >= base64Threshold
            && bytes.withUnsafeBufferPointer {
                let slice = UnsafeBufferPointer(rebasing: $0[body])
                return base64Length < QuotedPrintable.encodedLengthLowerBound(slice)
                    || base64Length < QuotedPrintable.encodedLength(slice)
            }
        let quotedPrintableLength = base64 ? 0 : QuotedPrintable.encodedLength(bytes[body])
        newHeader.replaceFirstField(
            named: "Content-Transfer-Encoding",
            with: field("Content-Transfer-Encoding", base64 ? "base64" : "quoted-printable"))
        if contentType.isEmpty {
            newHeader.appendField(name: "Content-Type", value: "text/plain; charset=utf-8")
        }
        if !isPart && newHeader.values(of: "MIME-Version").isEmpty {
            newHeader.appendField(name: "MIME-Version", value: "1.0")
        }
        emit(header: newHeader)
        if base64 {
            plan.append(base64: body)
        } else {
            plan.append(quotedPrintable: body, length: quotedPrintableLength)
        }
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
