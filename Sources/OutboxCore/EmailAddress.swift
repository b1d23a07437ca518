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

        public var description: String {
            switch self {
            case .empty: "it is empty"
            case .controlCharacter: "it contains a control character (CR, LF, NUL, …)"
            case .noAtSign: "it has no @domain"
            case .tooLong(let length): "it is \(length) characters long (at most 254)"
            case .localPartTooLong: "its part before @ is longer than 64 characters"
            case .invalidCharacter(let c): "it contains the character \"\(c)\""
            case .nonASCII: "it contains non-ASCII characters (SMTPUTF8 is not supported)"
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
        let localIsQuoted = value.first == "\"" && value[value.index(before: at)] == "\""
        for c in value where c == " " || c == "<" || c == ">" || c == "," || c == ";" || c == "\\" {
            if !(localIsQuoted && c != "<" && c != ">") { throw .invalidCharacter(c) }
        }
        self.value = value
    }

    /// The domain part, after the last `@`.
    public var domain: Substring { value[value.index(after: value.lastIndex(of: "@")!)...] }

    public var description: String { value }
}
