/// The `.json` spool format: what XNAT's `org.nrg.mail.api.MailMessage` carries, with its field
/// names, validated. See docs/spool.md.
///
/// Fields: `from`, `onBehalfOf`, `tos`/`to`, `ccs`/`cc`, `bccs`/`bcc` (a string or a list of
/// strings, each `addr@example.org` or `Name <addr@example.org>`), `subject`, `text`, `html`,
/// `headers` (name → string or list of strings), `attachments` (list of {`filename`,
/// `content_type`, `content_base64`}). `null` means absent. Unknown fields are refused, so a
/// typo never silently drops recipients. Every refusal is one line naming the field.
public struct SpoolJSONMessage: Sendable, Hashable {
    /// An address with an optional display name.
    public struct Mailbox: Sendable, Hashable {
        public var displayName: String?
        public var address: EmailAddress

        /// `Name <addr>` as header text, the name RFC 2047 encoded when needed.
        public var headerText: String {
            guard let displayName, !displayName.isEmpty else { return address.value }
            return "\(RFC2047.encodePhrase(displayName)) <\(address.value)>"
        }
    }

    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String
    }

    public struct Attachment: Sendable, Hashable {
        public var filename: String
        public var contentType: String
        public var content: [UInt8]
    }

    public var from: Mailbox?
    public var onBehalfOf: Mailbox?
    public var to: [Mailbox] = []
    public var cc: [Mailbox] = []
    public var bcc: [Mailbox] = []
    public var subject: String?
    public var text: String?
    public var html: String?
    public var headers: [Header] = []
    public var attachments: [Attachment] = []

    typealias Rejection = IncomingMessage.Rejection

    /// Header names a producer may not set through `headers`, with the reason shown.
    static func refusal(forHeader name: String) -> String? {
        let lower = name.lowercased()
        switch lower {
        case "bcc", "to", "cc": return "it would change the envelope; use the \(lower)s field"
        case "from", "sender": return "it would change the envelope; use the from/onBehalfOf fields"
        case "subject": return "use the subject field"
        case "mime-version": return "the MIME structure is built from text, html and attachments"
        case "return-path", "received": return "only mail servers add it"
        default:
            if lower.hasPrefix("content-") { return "the MIME structure is built from text, html and attachments" }
            if lower.hasPrefix("resent-") { return "it would change the envelope" }
            return nil
        }
    }

    private static let knownFields: Set<String> = [
        "from", "onBehalfOf", "tos", "to", "ccs", "cc", "bccs", "bcc", "subject", "text", "html", "headers",
        "attachments",
    ]

    /// Parses and validates a `.json` spool file.
    public init(json bytes: some Collection<UInt8>) throws(IncomingMessage.Rejection) {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: bytes)
        } catch {
            throw Rejection(error.description)
        }
        guard case .object(let members) = document else {
            throw Rejection(
                "the JSON must be an object with fields like \"from\" and \"tos\", not \(document.kindDescription)")
        }
        var fields: [String: JSONValue] = [:]
        for (key, value) in members {
            guard Self.knownFields.contains(key) else {
                throw Rejection(
                    "unknown field \"\(key.printableExcerpt)\" (known: from, onBehalfOf, tos, ccs, bccs, subject, text, html, headers, attachments)"
                )
            }
            if case .null = value { continue }
            fields[key] = value
        }

        func mailboxes(_ name: String, _ alias: String) throws(Rejection) -> [Mailbox] {
            if fields[name] != nil && fields[alias] != nil {
                throw Rejection("both \"\(name)\" and \"\(alias)\" are given; use one")
            }
            let key = fields[name] != nil ? name : alias
            guard let value = fields[key] else { return [] }
            let strings: [String]
            switch value {
            case .string(let single): strings = [single]
            case .array(let items):
                var list: [String] = []
                for (index, item) in items.enumerated() {
                    guard case .string(let s) = item else {
                        throw Rejection("field \"\(key)[\(index)]\" must be a string, not \(item.kindDescription)")
                    }
                    list.append(s)
                }
                strings = list
            default:
                throw Rejection("field \"\(key)\" must be a string or a list of strings, not \(value.kindDescription)")
            }
            var result: [Mailbox] = []
            for s in strings { result.append(try Self.mailbox(s, field: key)) }
            return result
        }

        func single(_ key: String) throws(Rejection) -> Mailbox? {
            guard let value = fields[key] else { return nil }
            guard case .string(let s) = value else {
                throw Rejection("field \"\(key)\" must be a string, not \(value.kindDescription)")
            }
            return try Self.mailbox(s, field: key)
        }

        func string(_ key: String) throws(Rejection) -> String? {
            guard let value = fields[key] else { return nil }
            guard case .string(let s) = value else {
                throw Rejection("field \"\(key)\" must be a string, not \(value.kindDescription)")
            }
            return s
        }

        from = try single("from")
        onBehalfOf = try single("onBehalfOf")
        to = try mailboxes("tos", "to")
        cc = try mailboxes("ccs", "cc")
        bcc = try mailboxes("bccs", "bcc")
        subject = try string("subject")
        if let subject, subject.utf8.count > RawMessage.maximumFieldLength {
            throw Rejection("field \"subject\" is longer than \(RawMessage.maximumFieldLength) bytes (the limit of one header field)")
        }
        if let subject, subject.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F })
        {
            throw Rejection("field \"subject\" contains a line break or control character")
        }
        text = try string("text")
        html = try string("html")
        for key in ["text", "html"] {
            if let body = key == "text" ? text : html, body.unicodeScalars.contains("\u{0}") {
                throw Rejection("field \"\(key)\" contains a NUL character")
            }
        }
        if let value = fields["headers"] { headers = try Self.headers(value) }
        if let value = fields["attachments"] { attachments = try Self.attachments(value) }
    }

    /// `addr`, `<addr>` or `Name <addr>` (the name may be in double quotes).
    static func mailbox(_ text: String, field: String) throws(Rejection) -> Mailbox {
        let trimmed = text.trimmingWhitespace()
        var name: String?
        var spec = trimmed
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            spec = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
                .trimmingWhitespace()
            var phrase = String(trimmed[..<open]).trimmingWhitespace()
            if phrase.count >= 2, phrase.hasPrefix("\""), phrase.hasSuffix("\"") {
                phrase = String(phrase.dropFirst().dropLast()).replacingEscapes()
            }
            name = phrase.isEmpty ? nil : phrase
        }
        if let name, name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw Rejection(
                "invalid address in \(field): \"\(text.printableExcerpt)\": the name contains a control character (CR, LF, NUL, …)"
            )
        }
        do {
            return Mailbox(displayName: name, address: try EmailAddress(spec))
        } catch {
            throw Rejection("invalid address in \(field): \"\(text.printableExcerpt)\": \(error)")
        }
    }

    static func headers(_ value: JSONValue) throws(Rejection) -> [Header] {
        guard case .object(let members) = value else {
            throw Rejection(
                "field \"headers\" must be an object (header name → list of values), not \(value.kindDescription)")
        }
        var result: [Header] = []
        for (name, values) in members {
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) else {
                throw Rejection(
                    "headers: \"\(name.printableExcerpt)\" is not a valid header name (printable ASCII, no spaces or colon)"
                )
            }
            if let why = refusal(forHeader: name) {
                throw Rejection("headers: \"\(name)\" is not allowed: \(why)")
            }
            let list: [JSONValue]
            switch values {
            case .string: list = [values]
            case .array(let items): list = items
            default:
                throw Rejection("headers.\(name) must be a string or a list of strings, not \(values.kindDescription)")
            }
            for item in list {
                guard case .string(let text) = item else {
                    throw Rejection("headers.\(name) must hold strings, not \(item.kindDescription)")
                }
                if text.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) {
                    throw Rejection("headers.\(name) contains a line break or control character")
                }
                if text.utf8.count > RawMessage.maximumFieldLength {
                    throw Rejection("headers.\(name) is longer than \(RawMessage.maximumFieldLength) bytes (the limit of one header field)")
                }
                result.append(Header(name: name, value: text))
                if result.count > RawMessage.maximumFieldCount {
                    throw Rejection("headers: more than \(RawMessage.maximumFieldCount) values (the limit of header fields)")
                }
            }
        }
        return result
    }

    static func attachments(_ value: JSONValue) throws(Rejection) -> [Attachment] {
        guard case .array(let items) = value else {
            throw Rejection(
                "field \"attachments\" must be a list of {filename, content_type, content_base64}, not \(value.kindDescription)"
            )
        }
        var result: [Attachment] = []
        for (index, item) in items.enumerated() {
            let at = "attachments[\(index)]"
            guard case .object(let members) = item else {
                throw Rejection("\(at) must be an object, not \(item.kindDescription)")
            }
            var filename: String?, contentType = "application/octet-stream", base64: String?
            for (key, member) in members {
                if case .null = member { continue }
                guard case .string(let s) = member else {
                    throw Rejection("\(at).\(key) must be a string, not \(member.kindDescription)")
                }
                switch key {
                case "filename": filename = s
                case "content_type": contentType = s
                case "content_base64": base64 = s
                default:
                    throw Rejection(
                        "\(at): unknown field \"\(key.printableExcerpt)\" (known: filename, content_type, content_base64; never a path)"
                    )
                }
            }
            guard let filename, !filename.isEmpty else { throw Rejection("\(at).filename is missing") }
            if filename.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                throw Rejection("\(at).filename contains a control character")
            }
            guard let base64 else {
                throw Rejection("\(at).content_base64 is missing (the content itself, never a path)")
            }
            guard Self.isContentType(contentType) else {
                throw Rejection(
                    "\(at).content_type \"\(contentType.printableExcerpt)\" is not a MIME type like application/pdf")
            }
            let content: [UInt8]
            do {
                content = try Base64.decode(base64)
            } catch {
                throw Rejection("\(at).content_base64 is not valid base64: \(error)")
            }
            result.append(Attachment(filename: filename, contentType: contentType.lowercased(), content: content))
        }
        return result
    }

    /// `type/subtype` made of RFC 2045 token characters (no parameters).
    static func isContentType(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let tspecials = Set("()<>@,;:\\\"/[]?= ".utf8)
        return parts.allSatisfy { part in
            !part.isEmpty && part.utf8.allSatisfy { $0 > 32 && $0 < 127 && !tspecials.contains($0) }
        }
    }
}

extension String {
    /// A quoted-string's content with `\x` turned into `x`.
    fileprivate func replacingEscapes() -> String {
        var out = ""
        var escaped = false
        for c in self {
            if escaped || c != "\\" {
                out.append(c)
                escaped = false
            } else {
                escaped = true
            }
        }
        return out
    }
}
