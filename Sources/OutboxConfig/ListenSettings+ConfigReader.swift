import OutboxCore

extension ListenSettings {
    /// The keys under `listen:` and their types (see ``ListenSettings``).
    static let configKeys: [String: ConfigSchema.ValueType] = [
        "addresses": .list, "max_connections": .int, "max_recipients": .int, "max_message_size": .int,
        "idle_timeout": .duration, "allow_networks": .list,
    ]

    /// Reads `listen.*`; nil when none is set. Throws one line naming the key.
    init?(reader: ConfigSectionReader, spool: SpoolSettings) throws(ConfigurationError) {
        guard Self.configKeys.keys.contains(where: reader.isSet) else { return nil }
        self.init(maxMessageSize: spool.maxMessageSize)
        /// Each item of the list `listen.KEY` parsed, or nil when the key is not set; the first item
        /// that does not parse is refused with `problem` and the item.
        func list<Item>(_ key: String, problem: String, _ parse: (String) -> Item?) throws(ConfigurationError) -> [Item]? {
            guard let items = try reader.list(key) else { return nil }
            var parsed: [Item] = []
            for item in items {
                guard let value = parse(item) else {
                    throw reader.error(key, "\(problem), got \"\(item.printableExcerpt)\"")
                }
                parsed.append(value)
            }
            return parsed
        }
        if let addresses = try list("addresses", problem: "must be host:port with an IP address (IPv6 as [::1]:25)", Address.init) {
            guard !addresses.isEmpty else { throw reader.error("addresses", "must name at least one host:port") }
            self.addresses = addresses
        }
        allowNetworks = try list("allow_networks", problem: "must be networks such as 172.17.0.0/16 or fd00::/8", IPNetwork.init)
            ?? allowNetworks
        maxConnections = try reader.int("max_connections", in: 1...10_000) ?? maxConnections
        maxRecipients = try reader.int("max_recipients", in: 1...100_000) ?? maxRecipients
        maxMessageSize = try reader.int("max_message_size", in: 1...Int(Int32.max)) ?? maxMessageSize
        if let timeout = try reader.duration("idle_timeout") {
            guard timeout >= .seconds(1) else { throw reader.error("idle_timeout", "must be at least 1s") }
            idleTimeout = timeout
        }
        // Never an open relay: a non-loopback address only with networks that say who may connect.
        if let open = addresses.first(where: { !$0.isLoopback }), allowNetworks.isEmpty {
            throw reader.error(
                "addresses",
                "\(open) is not a loopback address; set listen.allow_networks to the client networks allowed to connect (outbox must never be an open relay)")
        }
    }
}
