/// Base64 (RFC 2045 §6.8) in lines of 76 characters, each line (the last one too) ended by CRLF:
/// the transfer encoding of large 8-bit text, whose quoted-printable form is up to 3 times its
/// size where base64's is 4/3. Encoded in pieces of whole lines, so a body can be streamed.
public enum Base64Lines {
    /// Input bytes per output line: 57 bytes are 76 characters.
    public static let bytesPerLine = 57

    /// The exact length of the encoding of `count` bytes, line ends included.
    public static func encodedLength(of count: Int) -> Int {
        let rest = count % bytesPerLine
        return count / bytesPerLine * 78 + (rest == 0 ? 0 : (rest + 2) / 3 * 4 + 2)
    }

    /// The encoding of `bytes`, all at once (tests, and bodies under a stream's piece size).
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(encodedLength(of: bytes.count))
        bytes.withUnsafeBufferPointer { encode($0, into: &out) }
        return out
    }

    /// Appends the encoding of `bytes`. A piece of a longer input must hold whole lines (a
    /// multiple of ``bytesPerLine`` bytes) unless it is the last one.
    static func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout some ByteSink) {
        var index = 0
        let count = bytes.count
        while index < count {
            let lineEnd = min(index + bytesPerLine, count)
            Base64.append(UnsafeBufferPointer(rebasing: bytes[index..<lineEnd]), into: &out)
            index = lineEnd
            out.append(0x0D)
            out.append(0x0A)
        }
    }

    /// Appends the encoding of `bytes` with its line ends made canonical first (CRLF, LF and CR
    /// each become CRLF, RFC 2045 §6.8 for text), without a copy of the text: one line of input
    /// at a time goes through a small buffer.
    static func encodeCanonicalizingLineEnds(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout some ByteSink) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytesPerLine) { line in
            var filled = 0
            func put(_ byte: UInt8) {
                line[filled] = byte
                filled += 1
                if filled == bytesPerLine {
                    encode(UnsafeBufferPointer(line), into: &out)
                    filled = 0
                }
            }
            var index = 0
            let count = bytes.count
            while index < count {
                let byte = bytes[index]
                if byte == 0x0D || byte == 0x0A {
                    put(0x0D)
                    put(0x0A)
                    index += byte == 0x0D && index + 1 < count && bytes[index + 1] == 0x0A ? 2 : 1
                } else {
                    put(byte)
                    index += 1
                }
            }
            if filled > 0 { encode(UnsafeBufferPointer(rebasing: line[0..<filled]), into: &out) }
        }
    }

    /// The length of ``encodeCanonicalizingLineEnds(_:into:)``'s output.
    static func canonicalEncodedLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0D || byte == 0x0A {
                count += 2
                index += byte == 0x0D && index + 1 < bytes.count && bytes[index + 1] == 0x0A ? 2 : 1
            } else {
                count += 1
                index += 1
            }
        }
        return encodedLength(of: count)
    }
}
