import OutboxCore

/// A parsed INI file, as XNAT writes `prefs-init.ini` and `prefs-override.ini` (ini4j's dialect):
/// `[section]` headers, `key=value` (or `key: value`) lines, comments starting with `;` or `#`.
///
/// Keys are case-sensitive, as XNAT's are; a key repeated in a section keeps its last value; keys
/// before the first header belong to the section `""`. Values are trimmed; one pair of matching
/// surrounding quotes is removed.
public struct INIDocument: Sendable, Hashable {
    /// Section → key → value.
    public var sections: [String: [String: String]] = [:]

    /// A line that is neither a header, a comment nor a `key=value` pair.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var problem: String
        public var description: String { "line \(line): \(problem)" }
    }

    public init(sections: [String: [String: String]] = [:]) { self.sections = sections }

    /// Parses `text`.
    /// - Throws: ``ParseError`` naming the first line that is not INI.
    public init(parsing text: String) throws(ParseError) {
        var section = ""
        // "\r\n" is one Character: split on isNewline so Windows line ends work too.
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = String(rawLine).trimmingWhitespace()
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw ParseError(line: index + 1, problem: "a section header must look like [name]")
                }
                section = String(line.dropFirst().dropLast()).trimmingWhitespace()
                sections[section, default: [:]] = sections[section] ?? [:]
                continue
            }
            guard let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw ParseError(line: index + 1, problem: "expected key=value")
            }
            let key = String(line[..<separator]).trimmingWhitespace()
            guard !key.isEmpty else { throw ParseError(line: index + 1, problem: "a value without a key") }
            var value = String(line[line.index(after: separator)...]).trimmingWhitespace()
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            sections[section, default: [:]][key] = value
        }
    }

    /// The value of `key` in `section`, if present.
    public subscript(section: String, key: String) -> String? { sections[section]?[key] }
}
