/// XNAT's "Email Prefix": prepended to every Subject at send time, the way XNAT renders it.
///
/// - `XNAT` is shown as `[XNAT] Subject`;
/// - a prefix already written with brackets (`[My Site]`) is used as written, plus one space;
/// - a Subject that already starts with the rendered prefix is left alone, so a retry or a
///   message XNAT already prefixed never gets it twice;
/// - a non-ASCII prefix is sent as an RFC 2047 encoded-word, so the header stays 7-bit.
/// The stored message is never changed; the prefix is applied to the copy being sent.
public struct EmailPrefix: Sendable, Hashable {
    /// The prefix as shown to the user, e.g. `[XNAT]`; empty when there is none.
    public let rendered: String

    public init(_ configured: String) {
        let trimmed = configured.trimmingWhitespace()
        if trimmed.isEmpty {
            rendered = ""
        } else if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") {
            rendered = trimmed
        } else {
            rendered = "[\(trimmed)]"
        }
    }

    /// The Subject text after prefixing (unfolded value in, unfolded value out).
    public func apply(toSubject subject: String) -> String {
        guard !rendered.isEmpty else { return subject }
        if subject.hasPrefix(rendered) { return subject }
        return subject.isEmpty ? rendered : "\(rendered) \(subject)"
    }

    /// The message with its Subject prefixed; adds a Subject when there is none.
    public func apply(to message: RawMessage) -> RawMessage {
        guard !rendered.isEmpty else { return message }
        var result = message
        let existing = message.fields.first { $0.name.lowercased() == "subject" }
        if let existing, existing.value.hasPrefix(rendered) { return message }
        let prefix = Array(encodedRendered.utf8)
        var field = existing ?? RawMessage.Field(name: "Subject", lines: [Array("Subject:".utf8)])
        // Insert right after "Subject:" and its first white space, keeping the rest byte for byte
        // (folding, encoded-words and all).
        var first = field.lines[0]
        let colon = first.firstIndex(of: UInt8(ascii: ":"))!
        var insertAt = colon + 1
        while insertAt < first.count, first[insertAt] == UInt8(ascii: " ") || first[insertAt] == UInt8(ascii: "\t") {
            insertAt += 1
        }
        let restIsEmpty = existing == nil || existing!.value.isEmpty
        let insertion = [UInt8(ascii: " ")] + prefix + (restIsEmpty ? [] : [UInt8(ascii: " ")])
        first.replaceSubrange((colon + 1)..<insertAt, with: insertion)
        field.lines[0] = first
        result.replaceFirstField(named: "Subject", with: field)
        return result
    }

    /// `rendered` as header text: itself when plain ASCII, else RFC 2047 encoded-words (at most 75
    /// characters each, as ``RFC2047`` writes every header).
    private var encodedRendered: String {
        RFC2047.isPlainASCII(rendered) ? rendered : RFC2047.encodedWords(rendered).joined(separator: " ")
    }
}
