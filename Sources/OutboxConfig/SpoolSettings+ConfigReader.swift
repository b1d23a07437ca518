extension SpoolSettings {
    /// The keys under `spool:` and their types (see ``SpoolSettings``).
    static let configKeys: [String: ConfigSchema.ValueType] = [
        "directory": .path, "rescan_interval": .duration, "max_message_size": .int,
    ]

    /// Reads `spool.*`; throws one line naming the key.
    init(reader: ConfigSectionReader) throws(ConfigurationError) {
        self.init()
        directory = try reader.path("directory") ?? directory
        rescanInterval = try reader.duration("rescan_interval") ?? rescanInterval
        if let size = try reader.int("max_message_size") {
            guard size > 0 else { throw reader.error("max_message_size", "must be a positive number of bytes, got \(size)") }
            maxMessageSize = size
        }
    }
}
