/// The MIME entities of a normalized (CRLF) message and where each one starts and ends, found in
/// one pass over its lines, however deep the nesting: time and memory are linear in the message.
///
/// A line that starts with `--` is compared with the boundaries of every open multipart through
/// one dictionary, outermost first, so a delimiter of an outer multipart ends the inner entities
/// it cuts through (RFC 2046 §5.1.2) without each level scanning its body again. Multiparts nested
/// deeper than ``maximumDepth`` are not followed (their content is opaque to the walk) and the
/// structure says so: intake refuses such a message.
struct MIMEStructure {
    /// Multiparts nested deeper than this are refused at intake (Postfix's `mime_nesting_limit`).
    static let maximumDepth = 100
    /// More parts than this in one message are refused at intake; past it the walk treats what
    /// follows as content (each part costs a header parse and a few allocations).
    static let maximumParts = 10_000

    struct Entity {
        /// Byte range of the whole entity: header, blank line, body. A part ends before the CRLF
        /// that precedes the next delimiter (RFC 2046: that CRLF belongs to the delimiter).
        var start: Int
        var end: Int
        /// Where the body starts, after the blank line; nil when no blank line ended the header.
        var bodyStart: Int?
        /// The header fields and the blank line, as their own message; set with `bodyStart`.
        var header: RawMessage?
        var parent: Int
        /// 0 for the message; a part of an entity at depth d is at d + 1.
        var depth: Int
        /// A multipart whose boundary was followed: `children` are its parts, in order.
        var isMultipart = false
        var children: [Int] = []
        /// Its body (preamble, delimiters and epilogue included) has a line a 7-bit wire refuses:
        /// a byte ≥ 0x80, a NUL, or more than 998 octets.
        var isDirty = false
    }

    /// Entity 0 is the whole message.
    private(set) var entities: [Entity]
    /// A multipart deeper than ``maximumDepth`` was met (and not followed).
    private(set) var exceedsMaximumDepth = false
    /// More than ``maximumParts`` parts were met (the rest were not followed).
    private(set) var exceedsMaximumParts = false

    private struct OpenMultipart {
        var boundary: [UInt8]
        var entity: Int
        var currentPart: Int?
    }

    init(_ bytes: [UInt8]) {
        let count = bytes.count
        var entities = [Entity(start: 0, end: count, parent: -1, depth: 0)]
        var open: [OpenMultipart] = []  // outermost first
        var levels: [[UInt8]: Int] = [:]  // boundary → the outermost open multipart that has it
        var current = 0
        var inHeader = true
        var lineStart = 0

        func popOpen(downTo level: Int) {
            while open.count > level {
                let popped = open.removeLast()
                if levels[popped.boundary] == open.count { levels[popped.boundary] = nil }
            }
        }

        while true {
            var lineEnd = lineStart
            var isDirty = false
            while lineEnd < count && !(bytes[lineEnd] == 13 && lineEnd + 1 < count && bytes[lineEnd + 1] == 10) {
                let byte = bytes[lineEnd]
                if byte >= 0x80 || byte == 0 { isDirty = true }
                lineEnd += 1
            }
            if lineEnd - lineStart > 998 { isDirty = true }
            let next = min(lineEnd + 2, count)

            // A delimiter of an open multipart?
            if !open.isEmpty, lineEnd - lineStart >= 2, bytes[lineStart] == 45, bytes[lineStart + 1] == 45 {
                var trimmedEnd = lineEnd
                while trimmedEnd > lineStart + 2, bytes[trimmedEnd - 1] == 32 || bytes[trimmedEnd - 1] == 9 {
                    trimmedEnd -= 1
                }
                let candidate = Array(bytes[(lineStart + 2)..<trimmedEnd])
                var level = levels[candidate]
                var closing = false
                if candidate.count >= 2, candidate[candidate.count - 1] == 45, candidate[candidate.count - 2] == 45,
                    let outer = levels[Array(candidate.dropLast(2))], level.map({ outer < $0 }) ?? true
                {
                    level = outer
                    closing = true
                }
                if level != nil, !closing, entities.count > Self.maximumParts {
                    exceedsMaximumParts = true
                    level = nil  // content of the current part from here on
                }
                if let level {
                    let multipart = open[level].entity
                    var ending = current
                    while ending != multipart {
                        entities[ending].end = max(entities[ending].start, lineStart - 2)
                        ending = entities[ending].parent
                    }
                    if isDirty { entities[multipart].isDirty = true }
                    if closing {
                        popOpen(downTo: level)
                        current = multipart
                        inHeader = false
                    } else {
                        popOpen(downTo: level + 1)
                        let part = entities.count
                        entities.append(
                            Entity(start: next, end: count, parent: multipart, depth: entities[multipart].depth + 1))
                        entities[multipart].children.append(part)
                        open[level].currentPart = part
                        current = part
                        inHeader = true
                    }
                    if lineEnd == count { break }
                    lineStart = next
                    continue
                }
            }

            if inHeader {
                if lineEnd == lineStart {
                    // The blank line: the header is complete.
                    var header = Array(bytes[entities[current].start..<lineStart])
                    header += [13, 10]
                    let raw = RawMessage(normalizedBytes: header)
                    entities[current].header = raw
                    entities[current].bodyStart = next
                    inHeader = false
                    if let contentType = raw.values(of: "Content-Type").first,
                        contentType.lowercased().hasPrefix("multipart/"),
                        let boundary = SevenBitBody.parameter("boundary", in: contentType), !boundary.isEmpty
                    {
                        if entities[current].depth >= Self.maximumDepth {
                            exceedsMaximumDepth = true
                        } else {
                            entities[current].isMultipart = true
                            let key = Array(boundary.utf8)
                            if levels[key] == nil { levels[key] = open.count }
                            open.append(OpenMultipart(boundary: key, entity: current))
                        }
                    }
                } else if isDirty, entities[current].parent >= 0 {
                    entities[entities[current].parent].isDirty = true  // a part's header is its parent's body
                }
            } else if isDirty {
                entities[current].isDirty = true
            }
            if lineEnd == count { break }
            lineStart = next
        }
        // A dirty part makes every multipart around it dirty; parts come after their parents.
        for index in entities.indices.reversed() where index > 0 && entities[index].isDirty {
            entities[entities[index].parent].isDirty = true
        }
        self.entities = entities
    }
}
