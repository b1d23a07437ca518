extension MetricsSettings {
    /// The keys under `metrics:` and their types (see ``MetricsSettings``).
    static let configKeys: [String: ConfigSchema.ValueType] = ["listen": .string]

    /// Reads `metrics.*`; throws one line naming the key.
    init(reader: ConfigSectionReader) throws(ConfigurationError) {
        self.init()
        if let text = try reader.string("listen"), !text.isEmpty {
            do {
                listen = try Endpoint(text)
            } catch {
                throw reader.error("listen", "\(error)")
            }
        }
    }
}
