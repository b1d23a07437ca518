/// A directory entry's name in `new/`, as the bytes the file system holds: a name need not be
/// UTF-8 (byte 0xFF) and may hold a newline or ESC, and each such name must still be opened,
/// moved and logged as itself (issue 14).
struct SpoolName: Hashable, Comparable, Sendable {
    let bytes: [UInt8]

    /// The name as text when it is printable UTF-8 (no control characters); nil otherwise, and
    /// intake refuses such a file by name.
    var text: String? {
        guard let text = String(validating: bytes, as: UTF8.self),
            !text.unicodeScalars.contains(where: { $0.value < 0x20 || ($0.value >= 0x7F && $0.value < 0xA0) })
        else { return nil }
        return text
    }

    /// Printable and one line, for logs and for the name in `failed/`: bytes that are not printable
    /// UTF-8 become `\xHH` (a backslash becomes `\\`, so no two names escape alike).
    var escaped: String {
        if let text, !text.contains("\\") { return text }
        var out = ""
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x7F {
                out += byte == 0x5C ? "\\\\" : String(UnicodeScalar(byte))
                index += 1
                continue
            }
            // A valid multi-byte UTF-8 sequence of a printable character stays as it is.
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC2 ? 2 : 0
            if length > 0, index + length <= bytes.count,
                let character = String(validating: bytes[index..<(index + length)], as: UTF8.self),
                let scalar = character.unicodeScalars.first, scalar.value >= 0xA0
            {
                out += character
                index += length
                continue
            }
            out += "\\x" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0x0F, radix: 16, uppercase: true)
            index += 1
        }
        return out
    }

    static func < (lhs: SpoolName, rhs: SpoolName) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    /// The path of this entry in `directory`, NUL-terminated, for the C calls.
    func path(in directory: String) -> [CChar] {
        (Array(directory.utf8) + [0x2F] + bytes + [0]).map { CChar(bitPattern: $0) }
    }

    /// The name of its copy in `failed/`: the escaped name; one that ends in `.error` gets a `~`
    /// so it never takes the place of a reason file (a producer's `x.eml.error` beside `x.eml`);
    /// one too long for `NAME.error` to fit in 255 bytes is cut and given a hash of the whole name.
    var failedName: String {
        var name = escaped
        if name.hasSuffix(".error") { name += "~" }
        guard name.utf8.count > 200 else { return name }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a over the original bytes
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var prefix = ""
        for character in name {
            if prefix.utf8.count + String(character).utf8.count > 180 { break }
            prefix.append(character)
        }
        return prefix + "~" + String(hash, radix: 16)
    }

    /// The name as ``SpoolWatcher`` reports it (inotify's bytes decoded as UTF-8, invalid bytes
    /// replaced): the key of its arrivals.
    var watcherKey: String { String(decoding: bytes, as: UTF8.self) }
}
