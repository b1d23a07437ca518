/// Quoted-printable (RFC 2045 §6.7) for text bodies: 7-bit output, lines of at most 76
/// characters, CRLF line ends.
public enum QuotedPrintable {
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// Encodes `text`, treating CRLF, LF and CR alike as line ends (they become CRLF).
    public static func encode(_ text: String) -> [UInt8] { encode(Array(text.utf8)) }

    /// Encodes bytes (an 8-bit body at send time, UTF-8 text at intake); CRLF, LF and CR are line ends.
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let lines = TextLines.split(bytes)
        for (number, line) in lines.enumerated() {
            var width = 0
            for (position, byte) in line.enumerated() {
                let isLast = position == line.count - 1
                let literal =
                    (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "="))
                    || ((byte == 0x20 || byte == 0x09) && !isLast)
                let piece: [UInt8] = literal ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                // Leave room for the "=" of a soft line break unless this is the line's last piece.
                let limit = isLast ? 76 : 75
                if width + piece.count > limit {
                    out.append(contentsOf: [UInt8(ascii: "="), 0x0D, 0x0A])
                    width = 0
                }
                out.append(contentsOf: piece)
                width += piece.count
            }
            if number < lines.count - 1 { out.append(contentsOf: [0x0D, 0x0A]) }
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
