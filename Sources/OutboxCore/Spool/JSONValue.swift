/// A JSON value, parsed by a small strict parser (RFC 8259) that keeps OutboxCore free of
/// Foundation and explains every refusal in one line with the byte offset and the field.
///
/// Strings must be valid UTF-8 and escapes must not form lone surrogates, so a producer's text
/// in a bad encoding is refused here rather than mangled on the wire.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.map(\.key) == b.map(\.key) && a.map(\.value) == b.map(\.value)
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .number(let n): hasher.combine(n)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o):
            for (key, value) in o {
                hasher.combine(key)
                hasher.combine(value)
            }
        }
    }

    /// What a value is, in words for reasons: "a string", "a list", …
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "true/false"
        case .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }

    /// Why input is not JSON; `description` is one line naming the byte offset and, when known,
    /// the field being read.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var problem: String
        public var offset: Int
        public var field: String?
        public var description: String {
            "not valid JSON: \(problem) at byte \(offset)" + (field.map { " (in field \"\($0.printableExcerpt)\")" } ?? "")
        }
    }

    /// Nesting deeper than this is refused.
    public static let maximumDepth = 64
    /// An object with more fields than this is refused (a `headers` object holds one per header name).
    public static let maximumObjectMembers = 1_000
    /// A list with more items than this is refused (a message has at most 1 000 recipients and
    /// 1 000 header fields), before the rest is parsed.
    public static let maximumListItems = 1_000

    /// Parses a whole document; trailing non-space bytes are an error.
    public init(parsing bytes: some Collection<UInt8>) throws(ParseError) {
        var parser = Parser(bytes: Array(bytes))
        if parser.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.index = 3 }  // a UTF-8 BOM is harmless
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected text after the end") }
        self = value
    }

    private struct Parser {
        /// Limits no spool file comes near (the known fields and a `headers` object are few): they
        /// bound the work a hostile file can ask for, and the reason says which one it crossed.
        static let maximumDepth = JSONValue.maximumDepth
        static let maximumMembers = JSONValue.maximumObjectMembers
        static let maximumItems = JSONValue.maximumListItems

        let bytes: [UInt8]
        var index = 0
        var path: [String] = []

        func error(_ problem: String) -> ParseError {
            ParseError(problem: problem, offset: index, field: path.isEmpty ? nil : Self.fieldName(path))
        }

        /// `["attachments", "[0]", "filename"]` → `attachments[0].filename`.
        static func fieldName(_ path: [String]) -> String {
            var name = ""
            for part in path {
                if !name.isEmpty && !part.hasPrefix("[") { name += "." }
                name += part
            }
            return name
        }

        func truncated() -> ParseError { error("the file ends in the middle of a value (truncated?)") }

        mutating func skipSpace() {
            while index < bytes.count,
                bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D
            {
                index += 1
            }
        }

        mutating func value(depth: Int) throws(ParseError) -> JSONValue {
            guard depth < Self.maximumDepth else { throw error("nested more than \(Self.maximumDepth) levels deep") }
            skipSpace()
            guard index < bytes.count else { throw bytes.isEmpty ? error("the file is empty") : truncated() }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw error("unexpected character \(Self.show(bytes[index]))")
            }
        }

        static func show(_ byte: UInt8) -> String {
            byte >= 0x20 && byte < 0x7F ? "\"\(Character(Unicode.Scalar(byte)))\"" : "0x" + String(byte, radix: 16)
        }

        mutating func literal(_ word: String) throws(ParseError) {
            for expected in word.utf8 {
                guard index < bytes.count else { throw truncated() }
                guard bytes[index] == expected else { throw error("unexpected character \(Self.show(bytes[index]))") }
                index += 1
            }
        }

        mutating func number() throws(ParseError) -> String {
            let start = index
            func digits(_ p: inout Parser) -> Int {
                let s = p.index
                while p.index < p.bytes.count, p.bytes[p.index] >= 0x30 && p.bytes[p.index] <= 0x39 { p.index += 1 }
                return p.index - s
            }
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            if index < bytes.count, bytes[index] == UInt8(ascii: "0") {
                index += 1  // no leading zeros: "01" is not a number
            } else {
                guard digits(&self) > 0 else { throw index == bytes.count ? truncated() : error("a malformed number") }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits(&self) > 0 else { throw index == bytes.count ? truncated() : error("a malformed number") }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    index += 1
                }
                guard digits(&self) > 0 else { throw index == bytes.count ? truncated() : error("a malformed number") }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func hex4() throws(ParseError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard index < bytes.count else { throw truncated() }
                let b = bytes[index]
                let digit: UInt32
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - 0x30)
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - 0x61 + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - 0x41 + 10)
                default: throw error("a malformed \\u escape")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        mutating func string() throws(ParseError) -> String {
            index += 1  // the opening quote
            var out: [UInt8] = []
            var runStart = index
            var escaped = false
            while true {
                guard index < bytes.count else { throw truncated() }
                let b = bytes[index]
                if b == UInt8(ascii: "\"") {
                    if !escaped {
                        // No escape: the String straight from the input, without a buffer in between
                        // (a 24 MB text was held twice while parsing, issue 14).
                        let text = String(decoding: bytes[runStart..<index], as: UTF8.self)
                        index += 1
                        return text
                    }
                    out.append(contentsOf: bytes[runStart..<index])
                    index += 1
                    break
                }
                if b < 0x20 { throw error("a raw control character inside a string (use \\n, \\t, …)") }
                if b == UInt8(ascii: "\\") {
                    escaped = true
                    out.append(contentsOf: bytes[runStart..<index])
                    index += 1
                    guard index < bytes.count else { throw truncated() }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if code >= 0xD800 && code < 0xDC00 {
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                                bytes[index + 1] == UInt8(ascii: "u")
                            else { throw error("a lone UTF-16 surrogate in a \\u escape (not valid Unicode)") }
                            index += 2
                            let low = try hex4()
                            guard low >= 0xDC00 && low < 0xE000 else {
                                throw error("a lone UTF-16 surrogate in a \\u escape (not valid Unicode)")
                            }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else if code >= 0xDC00 && code < 0xE000 {
                            throw error("a lone UTF-16 surrogate in a \\u escape (not valid Unicode)")
                        }
                        out.append(contentsOf: Array(String(Character(Unicode.Scalar(code)!)).utf8))
                    default:
                        index -= 1
                        throw error("an unknown escape \\\(Self.show(escape))")
                    }
                    runStart = index
                    continue
                }
                if b >= 0x80 {
                    // Validate one UTF-8 sequence here so the error points at the bad byte.
                    let length: Int
                    switch b {
                    case 0xC2...0xDF: length = 2
                    case 0xE0...0xEF: length = 3
                    case 0xF0...0xF4: length = 4
                    default: throw error("text that is not valid UTF-8")
                    }
                    guard index + length <= bytes.count else { throw truncated() }
                    // RFC 3629 by hand: a String per character made 13 M characters take seconds.
                    let second = bytes[index + 1]
                    let secondRange: ClosedRange<UInt8> =
                        switch b {
                        case 0xE0: 0xA0...0xBF
                        case 0xED: 0x80...0x9F
                        case 0xF0: 0x90...0xBF
                        case 0xF4: 0x80...0x8F
                        default: 0x80...0xBF
                        }
                    guard secondRange.contains(second),
                        bytes[(index + 2)..<(index + length)].allSatisfy({ $0 >= 0x80 && $0 <= 0xBF })
                    else { throw error("text that is not valid UTF-8") }
                    index += length
                    continue
                }
                index += 1
            }
            return String(decoding: out, as: UTF8.self)
        }

        mutating func array(depth: Int) throws(ParseError) -> JSONValue {
            index += 1
            var items: [JSONValue] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                guard items.count < Self.maximumItems else { throw error("a list with more than \(Self.maximumItems) items") }
                path.append("[\(items.count)]")
                items.append(try value(depth: depth + 1))
                path.removeLast()
                skipSpace()
                guard index < bytes.count else { throw truncated() }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                throw error("expected \",\" or \"]\" in a list, found \(Self.show(bytes[index]))")
            }
        }

        mutating func object(depth: Int) throws(ParseError) -> JSONValue {
            index += 1
            var members: [(key: String, value: JSONValue)] = []
            var keys = Set<String>()  // a duplicate check by scanning `members` was O(n²) (issue 14)
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard index < bytes.count else { throw truncated() }
                guard bytes[index] == UInt8(ascii: "\"") else {
                    throw error("expected a field name in quotes, found \(Self.show(bytes[index]))")
                }
                let key = try string()
                guard keys.insert(key).inserted else { throw error("the field \"\(key.printableExcerpt)\" is given twice") }
                guard keys.count <= Self.maximumMembers else {
                    throw error("an object with more than \(Self.maximumMembers) fields")
                }
                skipSpace()
                guard index < bytes.count else { throw truncated() }
                guard bytes[index] == UInt8(ascii: ":") else {
                    throw error("expected \":\" after \"\(key.printableExcerpt)\"")
                }
                index += 1
                path.append(key)
                let member = try value(depth: depth + 1)
                path.removeLast()
                members.append((key, member))
                skipSpace()
                guard index < bytes.count else { throw truncated() }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                throw error("expected \",\" or \"}\" in an object, found \(Self.show(bytes[index]))")
            }
        }
    }
}
