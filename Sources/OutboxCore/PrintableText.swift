/// Text from outside (a producer's header, a server's reply, a setting) made safe for one line of a
/// log, an error, `STATUS=` or an SMTP reply: the one sanitizer and the one line splitter.
extension StringProtocol {
    /// At most 80 characters, control characters shown as `?`: safe to put in a one-line reason.
    public var printableExcerpt: String { printableExcerpt(maximumLength: 80) }

    /// Control characters (C0 and DEL; line breaks too) replaced by `replacement`, and with
    /// `asciiOnly` everything outside printable ASCII as well; cut to `maximumLength` characters
    /// (the last three then `...`; nil: no limit).
    public func printableExcerpt(
        maximumLength: Int?, replacement: Unicode.Scalar = "?", asciiOnly: Bool = false
    ) -> String {
        let cleaned = String(String.UnicodeScalarView(unicodeScalars.map { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F || (asciiOnly && scalar.value > 0x7F) ? replacement : scalar
        }))
        guard let maximumLength, cleaned.count > maximumLength else { return cleaned }
        return String(cleaned.prefix(maximumLength - 3)) + "..."
    }

    /// The lines: split at every line break (LF, CRLF — one `Character` —, CR, and Unicode's other
    /// newlines), empty lines kept.
    public var lines: [SubSequence] { split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) }

    /// The first line with anything on it (error texts often start or end with a line break).
    public var firstLine: SubSequence {
        split(whereSeparator: \.isNewline).first ?? self[endIndex...]
    }

    /// All lines joined with one space: a text for a field that must stay one line.
    public var joinedAsOneLine: String { lines.joined(separator: " ") }
}
