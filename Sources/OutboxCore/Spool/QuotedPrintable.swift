/// Quoted-printable (RFC 2045 §6.7) for text bodies: 7-bit output, lines of at most 76
/// characters, CRLF line ends.
public enum QuotedPrintable {
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// Encodes `text`, treating CRLF, LF and CR alike as line ends (they become CRLF).
    public static func encode(_ text: String) -> [UInt8] { encode(Array(text.utf8)) }

    /// Encodes bytes (an 8-bit body at send time, UTF-8 text at intake); CRLF, LF and CR are line ends.
    public static func encode(_ bytes: [UInt8]) -> [UInt8] { encode(bytes[...]) }

    /// Encodes a slice of a message (a MIME part's body) without copying it first. One pass and no
    /// per-line or per-byte allocation, the output allocated once: time and memory are linear in
    /// the input (a body of millions of short lines costs no more than one long one, issue 14).
    public static func encode(_ input: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(encodedSizeBound(input))
        encode(input, into: &out)
        return out
    }

    /// At least the size of the encoding of `input`: each encoded byte takes 3 octets, and each
    /// 75 octets at most 3 more for a soft line break.
    public static func encodedSizeBound(_ input: ArraySlice<UInt8>) -> Int {
        input.withUnsafeBufferPointer { encodedSizeBound($0) }
    }

    static func encodedSizeBound(_ input: UnsafeBufferPointer<UInt8>) -> Int {
        var escaped = 0
        for byte in input where !(byte >= 33 && byte <= 126) { escaped += 1 }
        let bound = input.count + 2 * escaped
        return bound + bound / 25 + 16
    }

    /// Appends the encoding of `input` to `out` (a message being rewritten: no temporary copy).
    public static func encode(_ input: ArraySlice<UInt8>, into out: inout [UInt8]) {
        input.withUnsafeBufferPointer { encode($0, into: &out) }
    }

    static func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout some ByteSink) {
        var state = State()
        encode(bytes, state: &state, until: bytes.count, into: &out)
    }

    /// The exact length of the encoding of `input` (a count, nothing kept).
    public static func encodedLength(_ input: ArraySlice<UInt8>) -> Int {
        input.withUnsafeBufferPointer { encodedLength($0) }
    }

    static func encodedLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var counter = ByteCounter()
        encode(bytes, into: &counter)
        return counter.count
    }

    /// At most the length of the encoding of `bytes` (soft line breaks left out): one cheap pass,
    /// enough to see that base64 is shorter without encoding anything.
    static func encodedLengthLowerBound(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var escaped = 0
        // Every byte gives at least one octet (a CRLF two for two, a lone CR or LF two), and these
        // always three.
        for byte in bytes
        where byte >= 0x7F || byte == UInt8(ascii: "=") || (byte < 0x20 && byte != 0x0D && byte != 0x0A && byte != 0x09) {
            escaped += 1
        }
        return bytes.count + 2 * escaped
    }

    /// Where an encoding stopped, so that it can go on later: a body is streamed in pieces.
    struct State {
        /// The next input byte.
        var index = 0
        /// Characters on the current output line.
        var width = 0
    }

    /// Encodes `bytes` from `state.index` until at least `limit` (a CRLF is taken whole); the
    /// whole of `bytes` is the body, so a piece's last byte sees what follows it.
    static func encode(_ bytes: UnsafeBufferPointer<UInt8>, state: inout State, until limit: Int,
                       into out: inout some ByteSink) {
        var width = state.width
        var index = state.index
        let count = bytes.count
        let limit = min(limit, count)
        while index < limit {
            let byte = bytes[index]
            if byte == 0x0D || byte == 0x0A {
                out.append(0x0D)
                out.append(0x0A)
                width = 0
                index += byte == 0x0D && index + 1 < count && bytes[index + 1] == 0x0A ? 2 : 1
                continue
            }
            let isLast = index + 1 == count || bytes[index + 1] == 0x0D || bytes[index + 1] == 0x0A
            let literal =
                (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "="))
                || ((byte == 0x20 || byte == 0x09) && !isLast)
            let pieceCount = literal ? 1 : 3
            // Leave room for the "=" of a soft line break unless this is the line's last piece.
            if width + pieceCount > (isLast ? 76 : 75) {
                out.append(UInt8(ascii: "="))
                out.append(0x0D)
                out.append(0x0A)
                width = 0
            }
            if literal {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "="))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
            width += pieceCount
            index += 1
        }
        state = State(index: index, width: width)
    }
}
