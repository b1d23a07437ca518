/// `FROM:<address> PARAM=value …` or `TO:<address> …`: the path of a MAIL or RCPT command and its
/// ESMTP parameters (RFC 5321 §4.1.2, §3.3).
///
/// The address must be in angle brackets; a source route (`<@a,@b:user@c>`) is dropped, as §C
/// requires. Parameters are only recognised after the closing bracket, so nothing inside the
/// address can pass as a parameter.
struct SMTPPath: Sendable, Hashable {
    /// nil for the null path `<>`.
    var address: String?
    /// Keyword (uppercased) and optional value, in order.
    var parameters: [(String, String?)]

    static func == (lhs: SMTPPath, rhs: SMTPPath) -> Bool {
        lhs.address == rhs.address && lhs.parameters.map(\.0) == rhs.parameters.map(\.0)
            && lhs.parameters.map(\.1) == rhs.parameters.map(\.1)
    }
    func hash(into hasher: inout Hasher) { hasher.combine(address) }

    enum Role { case sender, recipient }

    enum Problem: Error, Equatable {
        case syntax
        case badParameter(String)

        func reply(for role: Role) -> SMTPReply {
            switch self {
            case .syntax:
                SMTPReply(501, "5.5.4", role == .sender ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>")
            case .badParameter(let text):
                SMTPReply(501, "5.5.4", "Bad parameter syntax \"\(text)\"")
            }
        }
    }

    static func parse(_ argument: String, keyword: String) -> Result<SMTPPath, Problem> {
        let scalars = Array(argument.unicodeScalars)
        let key = Array(keyword.unicodeScalars)
        guard scalars.count >= key.count,
            String(String.UnicodeScalarView(scalars[0..<key.count])).uppercased() == keyword
        else { return .failure(.syntax) }
        var index = key.count
        while index < scalars.count, scalars[index] == " " { index += 1 }
        guard index < scalars.count, scalars[index] == "<" else { return .failure(.syntax) }
        index += 1
        let start = index
        var quoted = false
        var end: Int? = nil
        while index < scalars.count {
            let c = scalars[index]
            if quoted && c == "\\" {
                index += 2
                continue
            }
            if c == "\"" { quoted.toggle() }
            if !quoted && c == ">" {
                end = index
                break
            }
            if !quoted && c == "<" { return .failure(.syntax) }
            index += 1
        }
        guard let end else { return .failure(.syntax) }
        var address = String(String.UnicodeScalarView(scalars[start..<end]))
        // A source route `@a,@b:` before the mailbox is ignored (RFC 5321 §4.1.2, appendix C).
        if address.hasPrefix("@"), let colon = address.firstIndex(of: ":") {
            address = String(address[address.index(after: colon)...])
        }
        let rest = String(String.UnicodeScalarView(scalars[(end + 1)...]))
        guard rest.isEmpty || rest.hasPrefix(" ") else { return .failure(.syntax) }
        var parameters: [(String, String?)] = []
        for word in rest.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0]
            guard !name.isEmpty, name.allSatisfy({ ($0.isLetter || $0.isNumber || $0 == "-") && $0.isASCII }) else {
                return .failure(.badParameter(String(word)))
            }
            let value = parts.count == 2 ? String(parts[1]) : nil
            if let value, value.isEmpty || value.unicodeScalars.contains(where: { $0.value < 33 || $0.value > 126 }) {
                return .failure(.badParameter(String(word)))
            }
            parameters.append((name.uppercased(), value))
        }
        return .success(SMTPPath(address: address.isEmpty ? nil : address, parameters: parameters))
    }
}
