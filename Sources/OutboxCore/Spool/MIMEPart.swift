/// A MIME entity ready to serialize: header fields and either an encoded body or sub-parts.
/// Serialization is 7-bit clean with CRLF line ends; boundaries are unique per message and level.
public struct MIMEPart: Sendable, Hashable {
    /// Already-encoded header fields ("Name", "value with any CRLF-SP folding").
    public var fields: [Field]
    public var body: Body

    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public enum Body: Sendable, Hashable {
        /// Encoded bytes (7-bit, CRLF).
        case leaf([UInt8])
        /// UTF-8 text, encoded as the message is serialized: a large text is never held in its
        /// encoded form besides the message itself (issue 14).
        case text(String, TextEncoding)
        /// `multipart/<subtype>`.
        case multipart(subtype: String, parts: [MIMEPart])
    }

    /// How a text part goes on the wire.
    public enum TextEncoding: Sendable, Hashable {
        /// Plain ASCII with short lines: as it is, line ends made CRLF.
        case sevenBit
        case quotedPrintable
        /// Large non-ASCII text, where base64 (4/3) is shorter than quoted-printable (up to 3×).
        case base64
    }

    public init(fields: [Field], body: Body) {
        self.fields = fields
        self.body = body
    }

    /// A UTF-8 text part (`text/plain` or `text/html`): 7bit when it already is plain ASCII with
    /// short lines, else quoted-printable, or base64 when it is at least
    /// ``SevenBitBody/base64Threshold`` bytes and that is shorter (mostly non-ASCII text).
    ///
    /// One pass over the text and no per-line allocation (a text of millions of empty lines took
    /// hundreds of MB as arrays of lines, issue 14); CRLF, LF and CR all end a line. The text is
    /// kept as it is and encoded when the message is serialized.
    public static func text(_ text: String, subtype: String) -> MIMEPart {
        var text = text
        let encoding = text.withUTF8 { Self.encoding(utf8: $0) }  // no copy of a native string
        let name: String =
            switch encoding {
            case .sevenBit: "7bit"
            case .quotedPrintable: "quoted-printable"
            case .base64: "base64"
            }
        return MIMEPart(
            fields: [
                Field("Content-Type", "text/\(subtype); charset=\(encoding == .sevenBit ? "us-ascii" : "utf-8")"),
                Field("Content-Transfer-Encoding", name),
            ],
            body: .text(text, encoding))
    }

    private static func encoding(utf8 bytes: UnsafeBufferPointer<UInt8>) -> TextEncoding {
        var lineLength = 0
        for byte in bytes {
            if byte == 0x0D || byte == 0x0A {
                lineLength = 0
                continue
            }
            lineLength += 1
            if lineLength > 998 || !((byte >= 0x20 && byte < 0x7F) || byte == 0x09) {
                guard bytes.count >= SevenBitBody.base64Threshold else { return .quotedPrintable }
                let base64Length = Base64Lines.canonicalEncodedLength(bytes)
                return base64Length < QuotedPrintable.encodedLengthLowerBound(bytes)
                    || base64Length < QuotedPrintable.encodedLength(bytes) ? .base64 : .quotedPrintable
            }
        }
        return .sevenBit
    }

    private static func encode(_ bytes: UnsafeBufferPointer<UInt8>, as encoding: TextEncoding,
                               into out: inout some ByteSink) {
        switch encoding {
        case .sevenBit:
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x0D || byte == 0x0A {
                    out.append(0x0D)
                    out.append(0x0A)
                    index += byte == 0x0D && index + 1 < bytes.count && bytes[index + 1] == 0x0A ? 2 : 1
                } else {
                    out.append(byte)
                    index += 1
                }
            }
        case .quotedPrintable: QuotedPrintable.encode(bytes, into: &out)
        case .base64: Base64Lines.encodeCanonicalizingLineEnds(bytes, into: &out)
        }
    }

    /// An attachment: base64 in lines of 76, with the filename as a quoted parameter when it is
    /// plain ASCII, else in RFC 2231 form (`filename*=UTF-8''…`).
    public static func attachment(_ content: [UInt8], filename: String, contentType: String) -> MIMEPart {
        let encoded = Array(Base64.encode(content).utf8)
        var body: [UInt8] = []
        body.reserveCapacity(encoded.count + encoded.count / 76 * 2 + 2)
        var index = 0
        while index < encoded.count {
            let end = min(index + 76, encoded.count)
            body.append(contentsOf: encoded[index..<end])
            if end < encoded.count { body.append(contentsOf: [0x0D, 0x0A]) }
            index = end
        }
        let parameter = filenameParameter(filename)
        return MIMEPart(
            fields: [
                Field("Content-Type", "\(contentType);\r\n \(parameter.replacingFirstName("name"))"),
                Field("Content-Transfer-Encoding", "base64"),
                Field("Content-Disposition", "attachment;\r\n \(parameter.replacingFirstName("filename"))"),
            ],
            body: .leaf(body))
    }

    /// `filename="a.pdf"` or `filename*=UTF-8''%E2%82%AC.pdf`, with "filename" as a placeholder.
    private static func filenameParameter(_ filename: String) -> String {
        if filename.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            var quoted = ""
            for c in filename {
                if c == "\"" || c == "\\" { quoted.append("\\") }
                quoted.append(c)
            }
            return "filename=\"\(quoted)\""
        }
        let unreserved = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~".utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        for byte in filename.utf8 {
            if unreserved.contains(byte) {
                encoded.append(byte)
            } else {
                encoded.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        return "filename*=UTF-8''" + String(decoding: encoded, as: UTF8.self)
    }

    /// The entity as bytes: its fields, a blank line, then the body. Multipart boundaries are
    /// `boundaryBase` plus the nesting level. Counted first, then written into one buffer of the
    /// exact size: the message is the only copy of an encoded text.
    public func serialized(boundaryBase: String, level: Int = 0) -> [UInt8] {
        var counter = ByteCounter()
        serialize(boundaryBase: boundaryBase, level: level, into: &counter)
        var out: [UInt8] = []
        out.reserveCapacity(counter.count)
        serialize(boundaryBase: boundaryBase, level: level, into: &out)
        return out
    }

    private func serialize(boundaryBase: String, level: Int, into out: inout some ByteSink) {
        var fields = self.fields
        let boundary = "\(boundaryBase).\(level)"
        if case .multipart(let subtype, _) = body {
            fields.append(Field("Content-Type", "multipart/\(subtype);\r\n boundary=\"\(boundary)\""))
        }
        for field in fields {
            out.append(contentsOf: "\(field.name): \(field.value)\r\n".utf8)
        }
        out.append(contentsOf: [0x0D, 0x0A])
        let bodyStart = out.count
        switch body {
        case .leaf(let bytes):
            out.append(contentsOf: bytes)
        case .text(var text, let encoding):
            text.withUTF8 { Self.encode($0, as: encoding, into: &out) }
        case .multipart(_, let parts):
            out.append(contentsOf: "This is a multi-part message in MIME format.\r\n".utf8)
            for part in parts {
                out.append(contentsOf: "\r\n--\(boundary)\r\n".utf8)
                part.serialize(boundaryBase: boundaryBase, level: level + 1, into: &out)
            }
            out.append(contentsOf: "\r\n--\(boundary)--\r\n".utf8)
            return
        }
        // Inside a multipart the CRLF before the next boundary belongs to the boundary.
        // A whole message ends with CRLF; text that already does gets no extra blank line.
        if level == 0 && (out.count == bodyStart || out.lastTwo != (0x0D, 0x0A)) {
            out.append(contentsOf: [0x0D, 0x0A])
        }
    }
}

extension String {
    fileprivate func replacingFirstName(_ name: String) -> String {
        hasPrefix("filename") ? name + dropFirst("filename".count) : self
    }
}
