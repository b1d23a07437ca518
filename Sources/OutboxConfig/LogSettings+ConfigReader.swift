import OutboxCore

extension LogSettings {
    /// The keys under `log:` and their types (see ``LogSettings``).
    static let configKeys: [String: ConfigSchema.ValueType] = ["level": .string]

    static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Reads `log.*`; throws one line naming the key.
    init(reader: ConfigSectionReader) throws(ConfigurationError) {
        self.init()
        if let level = try reader.string("level") {
            guard Self.levels.contains(level.lowercased()) else {
                throw reader.error(
                    "level", "must be one of \(Self.levels.joined(separator: ", ")), got \"\(level.printableExcerpt)\"")
            }
            self.level = level.lowercased()
        }
    }
}
