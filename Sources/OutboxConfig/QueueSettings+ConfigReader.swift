extension QueueSettings {
    /// The keys under `queue:` and their types (see ``QueueSettings``).
    static let configKeys: [String: ConfigSchema.ValueType] = [
        "database": .path, "keep_sent": .duration, "keep_failed": .duration, "keep_sent_content": .bool,
    ]

    /// Reads `queue.*`; throws one line naming the key.
    init(reader: ConfigSectionReader) throws(ConfigurationError) {
        self.init()
        database = try reader.path("database") ?? database
        keepSent = try reader.duration("keep_sent") ?? keepSent
        keepFailed = try reader.duration("keep_failed") ?? keepFailed
        keepSentContent = try reader.bool("keep_sent_content") ?? keepSentContent
    }
}
