import Configuration
import OutboxCore

/// One section of the configuration (`smtp`, `smtp.oauth2`, `queue`, …), as a settings type's
/// `init(reader:)` reads it: keys are named within the section, and every error names the whole key.
///
/// Each getter converts the way ``ConfigSchema`` declares the key (`int`, `duration`, `path`, …) and
/// traps when a settings type reads a key as something else, so the declared type is the check the
/// user's value meets: a new key is declared once, beside the code that reads it.
struct ConfigSectionReader {
    /// `smtp`, `smtp.oauth2`.
    let section: String
    /// Where the settings came from, for messages: the YAML file's path.
    let source: String
    private let values: ValueReader

    /// A reader of `section` in `reader`'s values.
    init(reader: ConfigReader, section: String, source: String) {
        self.section = section
        self.source = source
        values = ValueReader(reader: reader, source: source)
    }

    /// The section `subsection` inside this one (`smtp` → `smtp.oauth2`).
    func scoped(to subsection: String) -> ConfigSectionReader {
        ConfigSectionReader(reader: values.reader, section: key(subsection), source: source)
    }

    /// The whole key, for messages: `port` → `smtp.port`.
    func key(_ name: String) -> String { "\(section).\(name)" }

    /// A refusal of this section's key `name`, as one line.
    func error(_ name: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(source: source, key: key(name), problem: problem)
    }

    /// True when `name` has a value (of any type) in some provider.
    func isSet(_ name: String) -> Bool {
        let fullKey = declared(name, ConfigSchema.keys[self.key(name)] ?? .string)
        return values.reader.string(forKey: ConfigKey(fullKey)) != nil
            || values.reader.stringArray(forKey: ConfigKey(fullKey)) != nil
    }

    // MARK: Typed getters: nil when the key is absent, an error naming it when present but wrong.

    /// A `string` key's text, or a `secret` key's (read as a secret: never in access logs).
    func string(_ name: String) throws(ConfigurationError) -> String? {
        if ConfigSchema.keys[self.key(name)] == .secret {
            return try values.string(declared(name, .secret), isSecret: true)
        }
        return try values.string(declared(name, .string))
    }

    func int(_ name: String) throws(ConfigurationError) -> Int? {
        try values.int(declared(name, .int))
    }

    /// An `int` key that must lie in `range`: `must be from 1 to 64, got 0`.
    func int(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = try int(name) else { return nil }
        guard range.contains(value) else {
            throw error(name, "must be from \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
        return value
    }

    func bool(_ name: String) throws(ConfigurationError) -> Bool? {
        try values.bool(declared(name, .bool))
    }

    func duration(_ name: String) throws(ConfigurationError) -> Duration? {
        try values.duration(declared(name, .duration))
    }

    /// An absolute path. - Parameter blankMeansUnset: `""` reads as absent (an optional file).
    func path(_ name: String, blankMeansUnset: Bool = false) throws(ConfigurationError) -> String? {
        let fullKey = declared(name, .path)
        if blankMeansUnset, try values.string(fullKey)?.isEmpty ?? true { return nil }
        return try values.path(fullKey)
    }

    /// A YAML list, or one string of items separated by spaces or commas (environment variables).
    func list(_ name: String) throws(ConfigurationError) -> [String]? {
        try values.list(declared(name, .list))
    }

    /// A mail address; blank reads as absent.
    func address(_ name: String) throws(ConfigurationError) -> EmailAddress? {
        guard let text = try values.string(declared(name, .address)), !text.isEmpty else { return nil }
        do {
            return try EmailAddress(text)
        } catch {
            throw self.error(name, "not a valid address: \(error)")
        }
    }

    /// The whole key, after checking the schema declares it with the type it is read as.
    private func declared(_ name: String, _ type: ConfigSchema.ValueType) -> String {
        let fullKey = self.key(name)
        let declaration = ConfigSchema.keys[fullKey]
        precondition(declaration == type, "\(fullKey) is read as \(type) but declared \(declaration.map { "\($0)" } ?? "nowhere")")
        return fullKey
    }
}
