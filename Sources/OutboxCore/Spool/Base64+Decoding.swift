extension Base64 {
    /// Why base64 text cannot be decoded; reads as the end of "… is not valid base64: …".
    public enum DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        case invalidCharacter(offset: Int)
        case badLength
        case misplacedPadding

        public var description: String {
            switch self {
            case .invalidCharacter(let offset): "a character outside the base64 alphabet at position \(offset)"
            case .badLength: "its length (without white space) is not a multiple of 4"
            case .misplacedPadding: "\"=\" padding in the middle"
            }
        }
    }

    /// Decodes standard base64 (RFC 4648 §4), ignoring white space and line breaks as MIME and
    /// Java's MIME encoder produce them; refuses anything else.
    public static func decode(_ text: String) throws(DecodingError) -> [UInt8] {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        var padding = 0
        for (offset, byte) in text.utf8.enumerated() {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - 65
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - 97 + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - 48 + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="):
                padding += 1
                continue
            case 0x20, 0x09, 0x0D, 0x0A: continue
            default: throw .invalidCharacter(offset: offset)
            }
            guard padding == 0 else { throw .misplacedPadding }
            values.append(value)
        }
        guard (values.count + padding) % 4 == 0, padding <= 2, values.count % 4 != 1 else { throw .badLength }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index + 1 < values.count {
            let v0 = values[index], v1 = values[index + 1]
            out.append(v0 << 2 | v1 >> 4)
            if index + 2 < values.count {
                let v2 = values[index + 2]
                out.append((v1 & 0x0F) << 4 | v2 >> 2)
                if index + 3 < values.count { out.append((v2 & 0x03) << 6 | values[index + 3]) }
            }
            index += 4
        }
        return out
    }
}
