/// Reads the content after DATA up to the end-of-data line, byte by byte across reads.
///
/// Only CRLF `.` CRLF ends the data (RFC 5321 §4.1.1.4); a `.` that starts a line is removed
/// (transparency, §4.5.2). A bare LF or bare CR is remembered and refuses the message once it has
/// ended: a server that let `LF.LF` or `LF.CRLF` end data could be made to read a second, forged
/// message from the rest (SMTP smuggling). Content over the size limit is counted and dropped.
struct DataReceiver: Sendable {
    private enum State: Sendable {
        case lineStart      // after CRLF (or at the start)
        case dot            // a line that started with "."
        case dotCR          // ".\r" at the start of a line
        case middle
        case cr             // CR inside a line
    }

    private var state = State.lineStart
    private(set) var content: [UInt8] = []
    private(set) var size = 0
    private(set) var tooLarge = false
    /// "LF" or "CR" when the content had a bare one.
    private(set) var bareLineEnd: String?

    private static let cr: UInt8 = 13, lf: UInt8 = 10, dot: UInt8 = 46

    /// Consumes input until the end-of-data line.
    /// - Returns: the index after the last byte consumed, and whether the data ended there.
    mutating func consume(_ input: ArraySlice<UInt8>, maxSize: Int) -> (Int, Bool) {
        limit = maxSize
        var index = input.startIndex
        while index != input.endIndex {
            let byte = input[index]
            index += 1
            switch state {
            case .lineStart:
                switch byte {
                case Self.dot: state = .dot
                case Self.cr: state = .cr
                case Self.lf: bare("LF"); append(byte); state = .middle  // LF.CRLF is no end
                default: state = .middle; append(byte)
                }
            case .dot:
                switch byte {
                case Self.cr: state = .dotCR
                case Self.lf: bare("LF"); append(Self.dot); append(byte); state = .middle
                default: state = .middle; append(byte)  // the leading dot was stuffing
                }
            case .dotCR:
                if byte == Self.lf { return (index, true) }
                bare("CR")
                append(Self.dot); append(Self.cr)
                if byte == Self.cr { state = .cr } else { append(byte); state = .middle }
            case .middle:
                switch byte {
                case Self.cr: state = .cr
                case Self.lf: bare("LF"); append(byte); state = .middle
                default: append(byte)
                }
            case .cr:
                switch byte {
                case Self.lf: append(Self.cr); append(Self.lf); state = .lineStart
                case Self.cr: bare("CR"); append(Self.cr)
                default: bare("CR"); append(Self.cr); append(byte); state = .middle
                }
            }
        }
        return (index, false)
    }

    private mutating func bare(_ which: String) {
        if bareLineEnd == nil { bareLineEnd = which }
    }

    private mutating func append(_ byte: UInt8) {
        size += 1
        if tooLarge || bareLineEnd != nil { return }
        // The limit counts the content as received, CRLF included, like SIZE.
        if size > limit {
            tooLarge = true
            content = []
            return
        }
        content.append(byte)
    }

    private var limit = Int.max
}
