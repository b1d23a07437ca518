/// Header text that stays 7-bit: RFC 2047 encoded-words for non-ASCII subjects, display names
/// and custom header values, and folding so no header line gets longer than needed.
public enum RFC2047 {
    /// Whether `text` can appear in a header as is: printable ASCII (and tab), no "=?" that a
    /// reader would try to decode.
    static func isPlainASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 } && !text.contains("=?")
    }

    /// An unstructured value (Subject, a custom header): as is when plain ASCII (folded at
    /// spaces), else UTF-8 "B" encoded-words of at most 75 characters, one per folded line.
    /// `nameLength` is the length of "Name: " already on the first line.
    public static func encodeUnstructured(_ text: String, nameLength: Int) -> String {
        // A word too long for one line (RFC 5322: 998 octets) cannot be folded: encoded-words
        // carry it across lines and decode to the same text.
        if isPlainASCII(text) && !text.utf8.split(separator: 32).contains(where: { $0.count > 900 }) {
            return fold(
                words: text.split(separator: " ", omittingEmptySubsequences: false).map(String.init), separator: " ",
                firstLineUsed: nameLength)
        }
        return encodedWords(text).joined(separator: "\r\n ")
    }

    /// A display name as an RFC 5322 phrase: an atom sequence, a quoted string, or encoded-words.
    public static func encodePhrase(_ name: String) -> String {
        guard isPlainASCII(name) else { return encodedWords(name).joined(separator: " ") }
        let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~ ")
        if name.allSatisfy({ atext.contains($0) }) && !name.hasPrefix(" ") && !name.hasSuffix(" ") { return name }
        var quoted = "\""
        for c in name {
            if c == "\"" || c == "\\" { quoted.append("\\") }
            quoted.append(c)
        }
        return quoted + "\""
    }

    /// `=?UTF-8?B?…?=` words each at most 75 characters, never splitting a character.
    /// `maxBytes` of UTF-8 per word (45 give 60 base64 characters); less leaves room on a first line.
    static func encodedWords(_ text: String, maxBytes: Int = 45) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > maxBytes && !chunk.isEmpty {
                words.append("=?UTF-8?B?\(Base64.encode(chunk))?=")
                chunk = []
            }
            chunk.append(contentsOf: bytes)
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?\(Base64.encode(chunk))?=") }
        return words
    }

    /// Joins `words` with `separator`, starting a continuation line (CRLF + space) before a word
    /// that would take the line past 78 characters.
    static func fold(words: [String], separator: String, firstLineUsed: Int) -> String {
        var out = ""
        var width = firstLineUsed
        for (index, word) in words.enumerated() {
            if index > 0 {
                // Never before an empty word (two spaces in a row): the new line would be white space only.
                if width + separator.count + word.count > 78 && width > 1 && !word.isEmpty {
                    out += separator.trimmingSuffixSpace + "\r\n " + word
                    width = 1 + word.count
                    continue
                }
                out += separator
                width += separator.count
            }
            out += word
            width += word.count
        }
        return out
    }
}

extension String {
    fileprivate var trimmingSuffixSpace: String { hasSuffix(" ") ? String(dropLast()) : self }
}
