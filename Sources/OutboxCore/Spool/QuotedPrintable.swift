/// Quoted-printable (RFC 2045 §6.7) for text bodies: 7-bit output, lines of at most 76
/// characters, CRLF line ends.
public enum QuotedPrintable {
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// Encodes `text`, treating CRLF, LF and CR alike as line ends (they become CRLF).
    public static func encode(_ text: String) -> [UInt8] { encode(Array(text.utf8)) }

    /// Encodes bytes (an 8-bit body at send time, UTF-8 text at intake); CRLF, LF and CR are line ends.
    /// One pass and no per-line or per-byte allocation: time and memory are linear in the input
    /// (a body of millions of short lines must cost no more than one long one, issue 14).
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 8 + 16)
        var width = 0
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte == 0x0D || byte == 0x0A {
                out.append(contentsOf: [0x0D, 0x0A])
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
                out.append(contentsOf: [UInt8(ascii: "="), 0x0D, 0x0A])
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
        return out
    }
}

/// Splits text into lines on CRLF, LF or CR, as UTF-8 bytes without the line ends.
enum TextLines {
    static func split(_ text: String) -> [[UInt8]] { split(Array(text.utf8)) }

    static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = [[]]
        var previousWasCR = false
        for byte in bytes {
            if byte == 0x0A {
                if !previousWasCR { lines.append([]) }
                previousWasCR = false
            } else if byte == 0x0D {
                lines.append([])
                previousWasCR = true
            } else {
                lines[lines.count - 1].append(byte)
                previousWasCR = false
            }
        }
        return lines
    }
}
