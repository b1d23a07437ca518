/// Structure-aware hostile inputs (issue 14): where the mutator flips bytes in small seeds, these
/// build large, well-formed-looking spool files with the shapes that made parsers quadratic — deep
/// MIME, many JSON keys, many and long header fields, huge recipient lists, deep JSON, long and
/// many lines — at any size up to `spool.max_message_size`.
enum Generators {
    typealias Generator = @Sendable (_ random: inout SplitMix64, _ size: Int) -> (name: String, bytes: [UInt8])

    static let all: [(family: String, make: Generator)] = [
        ("deep-mime", deepMIME), ("many-parts", manyParts), ("json-keys", jsonKeys), ("json-deep", jsonDeep),
        ("eml-fields", emlFields), ("long-header", longHeader), ("recipients-eml", recipientsEML),
        ("recipients-json", recipientsJSON), ("long-lines", longLines), ("short-lines", shortLines),
        ("json-long-strings", jsonLongStrings),
    ]

    static func pick<T>(_ items: [T], _ random: inout SplitMix64) -> T { items[Int(random.next() % UInt64(items.count))] }

    static let head = "From: a@example.org\r\nTo: b@example.org\r\nSubject: fuzz\r\nMIME-Version: 1.0\r\n"

    /// Appends `unit` until `out` reaches `size` bytes, in one go (a byte at a time, a 25 MB input
    /// took longer to build than to parse).
    static func fill(_ out: inout [UInt8], with unit: [UInt8], to size: Int) {
        guard !unit.isEmpty, out.count < size else { return }
        let count = (size - out.count + unit.count - 1) / unit.count
        out.reserveCapacity(out.count + count * unit.count + 64)
        out.append(contentsOf: repeatElement(unit, count: count).joined())
    }

    /// Multiparts nested as deep as `size` allows, boundaries sometimes reused or prefixes of each
    /// other, one 8-bit text part inside, closing delimiters sometimes missing.
    static func deepMIME(_ random: inout SplitMix64, _ size: Int) -> (name: String, bytes: [UInt8]) {
        var out = Array(head.utf8)
        var levels = 0
        let reuse = random.next() % 3 == 0
        while out.count < size / 2 {
            let boundary = reuse ? "b" : "b\(levels)"
            out += Array("Content-Type: multipart/mixed; boundary=\"\(boundary)\"\r\n\r\n--\(boundary)\r\n".utf8)
            levels += 1
        }
        out += Array("Content-Type: text/plain; charset=utf-8\r\n\r\nGr\u{FC}\u{DF}e\r\n".utf8)
        let closeAll = random.next() % 2 == 0
        for level in (0..<levels).reversed() where closeAll || level % 7 == 0 {
            out += Array("--\(reuse ? "b" : "b\(level)")--\r\n".utf8)
        }
        return ("deep.eml", out)
    }

    /// One multipart with as many small parts as fit, every other one 8-bit.
    static func manyParts(_ random: inout SplitMix64, _ size: Int) -> (name: String, bytes: [UInt8]) {
        var out = Array((head + "Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n").utf8)
        var index = 0
        while out.count < size {
            out += Array("--p\r\nContent-Type: text/plain\r\n\r\n\(index % 2 == 0 ? "caf\u{E9}" : "ascii")\r\n".utf8)
            index += 1
        }
        out += Array("--p--\r\n".utf8)
        return ("parts.eml", out)
    }

    /// A JSON object with as many keys as fit: at the top, in `headers`, or in an attachment.
    static func jsonKeys(_ random: inout SplitMix64, _ size: Int) -> (name: String, bytes: [UInt8]) {
        let place = random.next() % 3
        var out = Array((place == 1 ? "{\"tos\":\"b@example.org\",\"headers\":{" : place == 2 ? "{\"tos\":\"b@example.org\",\"attachments\":[{" : "{").utf8)
        var index = 0
        while out.count < size {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += Array("\"k\(index)\":\"v\"".utf8)
            index += 1
        }
        if random.next() % 2 == 0 { out += Array(",\"k0\":\"dup\"".utf8) }
        out += Array((place == 0 ? "}" : place == 1 ? "}}" : "}]}").utf8)
        return ("keys.json", out)
    }

    /// Lists and objects nested as deep as fits (the parser stops at its limit).
    static func jsonDeep(_ random: inout SplitMix64, _ size: Int) -> (name: String, bytes: [UInt8]) {
        let depth = max(1, size / 2)
        let open: UInt8 = random.next() % 2 == 0 ? UInt8(ascii: "[") : UInt8(ascii: "{")
        var out = [UInt8](repeating: open, count: depth)
        out += [UInt8](repeating: open == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}"), count: depth)
        return ("deep.json", out)
    }

    /// As many short header fields as fit.
    static func emlFields(_ random: inout SplitMix64, _ size: Int) -> (name: String, bytes: [UInt8]) {
        var out = Array(head.utf8)
        let field = Array(pick(["X-A: b\r\n", "Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n", "Bcc: c@example.org\r\n", "X-F: a\r\n b\r\n"], &random).utf8)
        fill(&out, with: field, to: size)
        out += Array("\r\nbody\r\n".utf8)
        return ("fields.eml", out)
    }

    /// One header field as long as fits: without spaces, with spaces, or folded into many lines.
    static func longHeader(_ random: inout SplitMix64, _ size: Int) -> (name: String, bytes: [UInt8]) {
        var out = Array((head + pick(["X-Long: ", "Subject: ", "References: "], &random)).utf8)
        let unit = Array(pick(["x", "<id@example.org> ", "word ", "\u{E9}", "\r\n folded", "   "], &random).utf8)
        fill(&out, with: unit, to: size)
        out += Array("\r\n\r\nbody\r\n".utf8)
        return ("long.eml", out)
    }

    /// A recipient list as long as fits, in one To: or in many Bcc: fields.
    static func recipientsEML(_ random: inout SplitMix64, _ size: Int) -> (name: String, bytes: [UInt8]) {
        var out = Array("From: a@example.org\r\nSubject: many\r\n".utf8)
        let oneField = random.next() % 2 == 0
        if oneField { out += Array("To: ".utf8) }
        var index = 0
        while out.count < size {
            out += Array((oneField ? "r\(index)@example.org, " : "Bcc: r\(index)@example.org\r\n").utf8)
            index += 1
        }
        out += Array((oneField ? "\r\n\r\nx\r\n" : "\r\nx\r\n").utf8)
        return ("rcpt.eml", out)
    }

    /// `tos` with as many addresses as fit.
    static func recipientsJSON(_ random: inout SplitMix64, _ size: Int) -> (name: String, bytes: [UInt8]) {
        var out = Array("{\"from\":\"a@example.org\",\"tos\":[".utf8)
        var index = 0
        while out.count < size {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += Array("\"r\(index % (random.next() % 2 == 0 ? 500 : Int.max))@example.org\"".utf8)
            index += 1
        }
        out += Array("],\"text\":\"t\"}".utf8)
        return ("rcpt.json", out)
    }

    /// One body line as long as fits, 7-bit or 8-bit.
    static func longLines(_ random: inout SplitMix64, _ size: Int) -> (name: String, bytes: [UInt8]) {
        var out = Array((head + "\r\n").utf8)
        let byte: UInt8 = random.next() % 2 == 0 ? UInt8(ascii: "x") : 0xE9
        out += [UInt8](repeating: byte, count: max(0, size - out.count))
        out += [13, 10]
        return ("line.eml", out)
    }

    /// As many one-character lines as fit, with a bare CR or LF now and then.
    static func shortLines(_ random: inout SplitMix64, _ size: Int) -> (name: String, bytes: [UInt8]) {
        var out = Array((head + "\r\n").utf8)
        let line = Array(pick(["\u{E9}\r\n", "x\n", "=\r", ".\r\n"], &random).utf8)
        fill(&out, with: line, to: size)
        return ("lines.eml", out)
    }

    /// A JSON message whose text, subject or attachment is one huge string (escapes, 8-bit, base64).
    static func jsonLongStrings(_ random: inout SplitMix64, _ size: Int) -> (name: String, bytes: [UInt8]) {
        let field = pick(["text", "html", "subject"], &random)
        let unit = Array(pick(["a", "\\u00e9", "\u{E9}", "\\n", " "], &random).utf8)
        var out = Array("{\"from\":\"a@example.org\",\"tos\":\"b@example.org\",\"\(field)\":\"".utf8)
        fill(&out, with: unit, to: size)
        out += Array("\"}".utf8)
        return ("text.json", out)
    }
}
