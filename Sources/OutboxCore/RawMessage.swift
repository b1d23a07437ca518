/// A finished RFC 5322 message as bytes with CRLF line ends: what the queue stores and what goes
/// on the wire after `DATA` (libcurl dot-stuffs it; we must not).
///
/// Header edits (removing `Bcc:`, adding `Date:`, prefixing `Subject:`) work on the raw header
/// lines and leave every other byte as the producer wrote it.
public struct RawMessage: Sendable, Hashable {
    public private(set) var bytes: [UInt8]

    /// One header field: its name as written and its lines (folded continuation lines included,
    /// each without its CRLF).
    public struct Field: Sendable, Hashable {
        public var name: String
        public var lines: [[UInt8]]

        /// The value after the colon, unfolded, with surrounding white space removed;
        /// non-UTF-8 bytes become U+FFFD.
        public var value: String {
            var joined: [UInt8] = []
            for (index, line) in lines.enumerated() {
                if index == 0, let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                    joined.append(contentsOf: line[(colon + 1)...])
                } else if index > 0 {
                    joined.append(contentsOf: line)
                }
            }
            return String(decoding: joined, as: UTF8.self).trimmingWhitespace()
        }
    }

    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case notAHeaderLine(line: Int)
        case tooManyFields(limit: Int)
        case fieldTooLong(name: String, limit: Int)

        public var description: String {
            switch self {
            case .empty: "the message is empty"
            case .notAHeaderLine(let line):
                "not an RFC 5322 message: line \(line) of the header is not a \"Name: value\" field"
            case .tooManyFields(let limit): "the header has more than \(limit) fields"
            case .fieldTooLong(let name, let limit):
                "the header field \(name.printableExcerpt): is longer than \(limit) bytes"
            }
        }
    }

    // MARK: Limits

    /// A producer's header may hold at most this many fields. Real mail has a few dozen (a long
    /// relay path adds one `Received:` per hop, and Postfix bounces at 50 hops); a header of millions
    /// of fields only costs the daemon time.
    public static let maximumFieldCount = 1_000
    /// One field, folded lines included, may be at most this long: Postfix's `header_size_limit`.
    public static let maximumFieldLength = 102_400

    private static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
    private static let crlf: [UInt8] = [cr, lf]

    /// Takes a message with any mix of CRLF, LF or CR line ends and stores it with CRLF, and checks
    /// that it starts with a well-formed header.
    public init(normalizing input: some Collection<UInt8>) throws(ParseError) {
        // Over a buffer, not the generic collection: unspecialized, every byte went through witness
        // tables (a third of the time of a 12 MB message of short lines).
        var out = Array(input).withUnsafeBufferPointer { bytes in
            var lineEnds = 0
            for byte in bytes where byte == Self.lf || byte == Self.cr { lineEnds += 1 }
            var out: [UInt8] = []
            // Room for the header fields intake adds (Date, Message-ID, From), so that they are
            // inserted in place instead of copying a large message again (issue 14).
            out.reserveCapacity(bytes.count + lineEnds + 2 + Self.headerHeadroom)
            var previousWasCR = false
            for byte in bytes {
                if byte == Self.lf {
                    if !previousWasCR { out.append(Self.cr) }
                    out.append(Self.lf)
                    previousWasCR = false
                } else {
                    if previousWasCR { out.append(Self.lf) }
                    out.append(byte)
                    previousWasCR = byte == Self.cr
                }
            }
            if previousWasCR { out.append(Self.lf) }
            return out
        }
        guard !out.isEmpty else { throw .empty }
        if out.count < 2 || out[out.count - 2] != Self.cr || out[out.count - 1] != Self.lf {
            out.append(contentsOf: Self.crlf)
        }
        self.bytes = out
        _ = try parseFields(enforcingLimits: true)
    }

    /// Wraps bytes that are already a normalized message (read back from the queue).
    public init(normalizedBytes: [UInt8]) { self.bytes = normalizedBytes }

    /// The byte offset where the body starts (after the blank line), or `bytes.count`.
    private var headerEnd: (header: Int, body: Int) {
        var index = 0
        while index + 1 < bytes.count {
            // A line that is empty ends the header.
            if bytes[index] == Self.cr && bytes[index + 1] == Self.lf { return (index, index + 2) }
            guard let next = nextLineStart(after: index) else { break }
            index = next
        }
        return (bytes.count, bytes.count)
    }

    private func nextLineStart(after start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == Self.cr && bytes[index + 1] == Self.lf { return index + 2 }
            index += 1
        }
        return nil
    }

    /// The header fields in order.
    public var fields: [Field] { (try? parseFields()) ?? [] }

    /// The header's fields, in one pass over the header. With `enforcingLimits` (a producer's
    /// message at intake) it stops at the first field past ``maximumFieldCount`` or
    /// ``maximumFieldLength``, so a hostile header costs no more than a legal one.
    private func parseFields(enforcingLimits: Bool = false) throws(ParseError) -> [Field] {
        let end = headerEnd.header
        var fields: [Field] = []
        var lineNumber = 0
        var start = 0
        var fieldLength = 0
        while start < end {
            lineNumber += 1
            let stop = nextLineStart(after: start).map { $0 - 2 } ?? end
            let line = Array(bytes[start..<stop])
            if let first = line.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                guard !fields.isEmpty else { throw .notAHeaderLine(line: lineNumber) }
                fields[fields.count - 1].lines.append(line)
                fieldLength += line.count + 2
            } else {
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
                    line[..<colon].allSatisfy({ $0 > 32 && $0 < 127 })
                else { throw .notAHeaderLine(line: lineNumber) }
                if enforcingLimits && fields.count == Self.maximumFieldCount {
                    throw .tooManyFields(limit: Self.maximumFieldCount)
                }
                fields.append(Field(name: String(decoding: line[..<colon], as: UTF8.self), lines: [line]))
                fieldLength = line.count + 2
            }
            if enforcingLimits && fieldLength > Self.maximumFieldLength {
                throw .fieldTooLong(name: fields[fields.count - 1].name, limit: Self.maximumFieldLength)
            }
            start = stop + 2
        }
        return fields
    }

    /// The unfolded values of every field called `name` (case-insensitive).
    public func values(of name: String) -> [String] {
        let wanted = name.lowercased()
        return fields.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    /// The body, after the blank line.
    public var body: ArraySlice<UInt8> { bytes[headerEnd.body...] }

    /// Bytes reserved beyond a normalized message for header edits at intake.
    static let headerHeadroom = 4_096

    /// Rebuilds the header from `fields`, in place: the body stays where it is in the same buffer
    /// when there is room (a large message is not copied again for a field added, issue 14).
    private mutating func replaceHeader(with fields: [Field]) {
        let (_, bodyStart) = headerEnd
        var header: [UInt8] = []
        for field in fields {
            for line in field.lines {
                header.append(contentsOf: line)
                header.append(contentsOf: Self.crlf)
            }
        }
        header.append(contentsOf: Self.crlf)
        bytes.replaceSubrange(0..<bodyStart, with: header)
    }

    /// Lets `transform` edit the header fields (their lines without CRLF), then rebuilds the header.
    public mutating func rewriteFields(_ transform: (inout [Field]) -> Void) {
        var all = fields
        transform(&all)
        replaceHeader(with: all)
    }

    /// Removes every field called `name` (case-insensitive), continuation lines included.
    public mutating func removeFields(named name: String) {
        let wanted = name.lowercased()
        removeFields(where: { $0.lowercased() == wanted })
    }

    /// Removes every field whose name satisfies `isRemoved`, continuation lines included.
    public mutating func removeFields(where isRemoved: (String) -> Bool) {
        let all = fields
        let kept = all.filter { !isRemoved($0.name) }
        if kept.count != all.count { replaceHeader(with: kept) }
    }

    /// Appends `Name: value` at the end of the header. `value` must not contain CR or LF.
    public mutating func appendField(name: String, value: String) {
        var all = fields
        all.append(Field(name: name, lines: [Array("\(name): \(value)".utf8)]))
        replaceHeader(with: all)
    }

    /// Replaces the first field called `name` with the given lines (or appends it).
    public mutating func replaceFirstField(named name: String, with newField: Field) {
        var all = fields
        if let index = all.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) {
            all[index] = newField
        } else {
            all.append(newField)
        }
        replaceHeader(with: all)
    }
}
