/// Extracts the addr-specs from an RFC 5322 address-list header value
/// (`To:`, `Cc:`, `Bcc:`, `From:`, `Sender:`).
///
/// Understands display names, quoted strings (with commas inside), comments, angle brackets with
/// obsolete source routes, and groups (`undisclosed-recipients:;`). It does not validate: the
/// results go through ``EmailAddress/init(_:)``.
public enum AddressList {
    public static func addrSpecs(in value: String) -> [String] {
        var results: [String] = []
        var plain = ""            // text outside quotes/comments/brackets, for bare addr-specs
        var angle: String? = nil  // content of the last <…> seen in this mailbox
        var current: String? = nil
        var inQuote = false
        var escaped = false
        var commentDepth = 0

        func finishMailbox() {
            let candidate = angle ?? plain
            var spec = candidate.trimmingWhitespace()
            if angle != nil, spec.hasPrefix("@"), let colon = spec.firstIndex(of: ":") {
                spec = String(spec[spec.index(after: colon)...])  // obs-route "<@a,@b:user@c>"
            }
            if !spec.isEmpty { results.append(spec) }
            plain = ""
            angle = nil
            current = nil
        }

        for c in value {
            if escaped {
                escaped = false
                if current != nil { current!.append(c) } else if inQuote { plain.append(c) }
                continue
            }
            if commentDepth > 0 {
                if c == "\\" { escaped = true } else if c == "(" { commentDepth += 1 } else if c == ")" { commentDepth -= 1 }
                continue
            }
            if current != nil {  // inside <…>
                if c == ">" { angle = current; current = nil } else { current!.append(c) }
                continue
            }
            if inQuote {
                if c == "\\" { escaped = true } else if c == "\"" { inQuote = false }
                plain.append(c)
                continue
            }
            switch c {
            case "\"": inQuote = true; plain.append(c)
            case "(": commentDepth = 1
            case "<": current = ""
            case ",", ";": finishMailbox()
            case ":": plain = ""; angle = nil  // a group's display name ends here
            default: plain.append(c)
            }
        }
        if current != nil { angle = current }
        finishMailbox()
        return results
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs, CR and LF.
    public func trimmingWhitespace() -> String {
        // "\r\n" is one Character, equal to neither "\r" nor "\n".
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
