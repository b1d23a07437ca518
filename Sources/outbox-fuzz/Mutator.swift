/// Mutations of a valid input: byte flips, truncations, insertions of the characters parsers trip
/// on (CR, LF, NUL, quotes, braces, backslashes, 8-bit bytes), huge numbers, deep nesting, long
/// runs, duplicated chunks and splices from another seed. One to eight mutations per input.
enum Mutator {
    static let specials: [UInt8] = Array("\r\n\0\"'{}[]\\,:;<>@=?. \t-".utf8) + [0x80, 0xC3, 0xFF, 0xE2, 0x7F]
    static let tokens: [String] = [
        "99999999999999999999999999", "-1", "1e999999", "-0", "0x10", "NaN", "null", "true", "\\u0000", "\\ud800",
        "\\uDFFF\\ud800", "=?utf-8?B?", "=?utf-8?Q?=FF=?=", "\r\n\r\n", "\n.\n", "--", "Content-Transfer-Encoding: base64\r\n",
        "Content-Type: multipart/mixed; boundary=\"x\"\r\n", "To: \"\r\n", "From: <>\r\n", "Bcc:", "<@a,@b:c@d>",
        "\"\\\"", "{\"to\":", "[\"", "\":", ": &a [*a, *a]", "!!binary", "key: |\n  x", "\t- ", "~", "{{{{", "]]]]",
    ]

    static func mutate(_ input: [UInt8], random: inout SplitMix64, splice: [[UInt8]]) -> [UInt8] {
        var bytes = input
        let count = 1 + Int(random.next() % 8)
        for _ in 0..<count {
            let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count + 1))
            switch random.next() % 10 {
            case 0 where !bytes.isEmpty:  // flip a bit
                let index = min(position, bytes.count - 1)
                bytes[index] ^= UInt8(1 << (random.next() % 8))
            case 1:  // truncate
                bytes.removeSubrange(position...)
            case 2:  // insert a special byte
                bytes.insert(specials[Int(random.next() % UInt64(specials.count))], at: position)
            case 3:  // insert a token
                bytes.insert(contentsOf: Array(tokens[Int(random.next() % UInt64(tokens.count))].utf8), at: position)
            case 4:  // deep nesting
                let depth = Int(random.next() % 200) + 1
                let open: UInt8 = random.next() % 2 == 0 ? UInt8(ascii: "[") : UInt8(ascii: "{")
                bytes.insert(contentsOf: [UInt8](repeating: open, count: depth), at: position)
            case 5 where !bytes.isEmpty:  // delete a range
                let end = min(bytes.count, position + Int(random.next() % 16) + 1)
                if position < end { bytes.removeSubrange(position..<end) }
            case 6:  // a long run (long lines, long headers)
                let byte = specials[Int(random.next() % UInt64(specials.count))]
                bytes.insert(contentsOf: [UInt8](repeating: random.next() % 2 == 0 ? UInt8(ascii: "a") : byte,
                                                 count: Int(random.next() % 2000) + 1), at: position)
            case 7 where !bytes.isEmpty:  // duplicate a chunk
                let end = min(bytes.count, position + Int(random.next() % 64) + 1)
                if position < end { bytes.insert(contentsOf: Array(bytes[position..<end]), at: position) }
            case 8:  // splice another seed's tail
                let other = splice[Int(random.next() % UInt64(splice.count))]
                let from = other.isEmpty ? 0 : Int(random.next() % UInt64(other.count))
                bytes.removeSubrange(position...)
                bytes.append(contentsOf: other[from...])
            default:  // overwrite a byte with a random one
                if !bytes.isEmpty { bytes[min(position, bytes.count - 1)] = UInt8(truncatingIfNeeded: random.next()) }
            }
        }
        return bytes
    }
}
