/// An SMTP envelope address (RFC 5321 `Mailbox`), validated so that it can be handed to
/// libcurl as `MAIL FROM:<…>` / `RCPT TO:<…>` without injecting anything.
///
/// libcurl 7.88 sends a CR or LF inside an address as is, which would let a producer inject SMTP
/// commands; this type is the only way an address reaches the transport.
public struct EmailAddress: Sendable, Hashable, CustomStringConvertible, Codable {
    public let value: String

    /// Reasons an address is refused; each reads as the end of "invalid address …".
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case controlCharacter
        case noAtSign
        case tooLong(Int)
        case localPartTooLong
        case invalidCharacter(Character)
        case nonASCII
        case unbalancedQuote

        public var description: String {
            switch self {
            case .empty: "it is empty"
            case .controlCharacter: "it contains a control character (CR, LF, NUL, …)"
            case .noAtSign: "it has no @domain"
            case .tooLong(let length): "it is \(length) characters long (at most 254)"
            case .localPartTooLong: "its part before @ is longer than 64 characters"
            case .invalidCharacter(let c): "it contains the character \"\(c)\""
            case .nonASCII: "it contains non-ASCII characters (SMTPUTF8 is not supported)"
            case .unbalancedQuote: "its quoted part before @ is not one closed \"…\" (nothing may follow the quotes but @domain)"
            }
        }
    }

    /// Validates `value` (surrounding white space and angle brackets already removed).
    public init(_ value: String) throws(Problem) {
        guard !value.isEmpty else { throw .empty }
        for scalar in value.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F { throw .controlCharacter }
            if scalar.value > 0x7E { throw .nonASCII }
        }
        guard value.utf8.count <= 254 else { throw .tooLong(value.utf8.count) }
        guard let at = value.lastIndex(of: "@"), at != value.startIndex, value.index(after: at) != value.endIndex
        else { throw .noAtSign }
        guard value[..<at].utf8.count <= 64 else { throw .localPartTooLong }
        // RFC 5321 Mailbox = Local-part "@" Domain. Spaces and specials may appear only inside a
        // quoted local part: one quoted-string that ends right at the "@". Anything after the domain
        // would reach the wire as ESMTP parameters (`<"s"@example.org RET=FULL>`, issue 14).
        let local = value[..<at]
        if local.first == "\"" {
            guard Self.isQuotedString(local) else { throw .unbalancedQuote }
        } else {
            for c in local where c == " " || c == "<" || c == ">" || c == "," || c == ";" || c == "\\" || c == "\"" {
                throw .invalidCharacter(c)
            }
        }
        for c in value[value.index(after: at)...]
        where c == " " || c == "<" || c == ">" || c == "," || c == ";" || c == "\\" || c == "\"" || c == "(" || c == ")" {
            throw .invalidCharacter(c)
        }
        self.value = value
    }

    /// `"…"` with `\x` escapes inside and nothing after the closing quote.
    private static func isQuotedString(_ text: Substring) -> Bool {
        var escaped = false
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let c = text[index]
            if escaped {
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == "\"" {
                return text.index(after: index) == text.endIndex
            }
            index = text.index(after: index)
        }
        return false
    }

    /// The domain part, after the last `@`.
    public var domain: Substring { value[value.index(after: value.lastIndex(of: "@")!)...] }

    public var description: String { value }
}
