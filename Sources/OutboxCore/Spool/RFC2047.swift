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
        if isPlainASCII(text) {
            if let folded = foldPlain(Array(text.utf8), firstLineUsed: nameLength) { return folded }
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

    /// Plain ASCII text folded at its spaces as ``fold(words:separator:firstLineUsed:)`` folds
    /// words separated by one space, in one pass over the bytes (a value of millions of spaces made
    /// as many words, 220 MB, issue 14); nil when a word is too long for a line (over 900 octets).
    static func foldPlain(_ text: [UInt8], firstLineUsed: Int) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(text.count + text.count / 25 + 8)
        var width = firstLineUsed
        var start = 0
        var first = true
        while start <= text.count {
            var end = start
            while end < text.count && text[end] != 32 { end += 1 }
            let length = end - start
            if length > 900 { return nil }
            if !first {
                // Never before an empty word (two spaces in a row): the new line would be white space only.
                if width + 1 + length > 78 && width > 1 && length > 0 {
                    out += [13, 10, 32]
                    width = 1
                } else {
                    out.append(32)
                    width += 1
                }
            }
            out += text[start..<end]
            width += length
            first = false
            start = end + 1
        }
        return String(decoding: out, as: UTF8.self)
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
