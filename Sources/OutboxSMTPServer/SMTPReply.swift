import OutboxCore

/// One SMTP reply: a code, an enhanced status code (RFC 3463) and one or more lines of text.
///
/// ``bytes`` renders it as RFC 5321 §4.2 requires: `250-…` for every line but the last, `250 …`
/// for the last, each ending in CRLF. Text never contains CR or LF (callers pass reasons that
/// were made printable first), so a reply is always well-formed.
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    /// `2.0.0`, `5.5.2`, …; nil for the greeting and the EHLO/HELO reply (RFC 2034 §3).
    public var enhancedCode: String?
    public var lines: [String]

    public init(_ code: Int, _ enhancedCode: String?, _ lines: String...) {
        self.code = code
        self.enhancedCode = enhancedCode
        self.lines = lines.map(Self.printable)
    }

    public init(_ code: Int, _ enhancedCode: String?, lines: [String]) {
        self.code = code
        self.enhancedCode = enhancedCode
        self.lines = lines.isEmpty ? [""] : lines.map(Self.printable)
    }

    /// The reply on the wire.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        for (index, line) in lines.enumerated() {
            out.append(contentsOf: "\(code)".utf8)
            out.append(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            if let enhancedCode {
                out.append(contentsOf: enhancedCode.utf8)
                if !line.isEmpty { out.append(UInt8(ascii: " ")) }
            }
            out.append(contentsOf: line.utf8)
            out.append(contentsOf: [13, 10])
        }
        return out
    }

    public var description: String { String(decoding: bytes.dropLast(2), as: UTF8.self) }

    /// Control characters and non-ASCII become `?`; at most 400 characters (RFC 5321 §4.5.3.1.5
    /// allows 512 octets per reply line, code included).
    static func printable(_ text: String) -> String {
        text.printableExcerpt(maximumLength: 400, asciiOnly: true)
    }
}
