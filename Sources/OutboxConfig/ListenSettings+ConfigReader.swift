import OutboxCore

extension ListenSettings {
    static let keys = ["addresses", "max_connections", "max_recipients", "max_message_size", "idle_timeout", "allow_networks"]

    /// Reads `listen.*`; nil when none is set. Throws one line naming the key.
    init?(values: ValueReader, spool: SpoolSettings, source: String) throws(ConfigurationError) {
        var present = false
        for key in Self.keys {
            if try values.list("listen." + key) != nil { present = true }
        }
        guard present else { return nil }
        self.init(maxMessageSize: spool.maxMessageSize)
        /// Each item of the list `listen.KEY` parsed, or nil when the key is not set; the first item
        /// that does not parse is refused with `problem` and the item.
        func list<Item>(_ key: String, problem: String, _ parse: (String) -> Item?) throws(ConfigurationError) -> [Item]? {
            guard let items = try values.list("listen." + key) else { return nil }
            var parsed: [Item] = []
            for item in items {
                guard let value = parse(item) else {
                    throw ConfigurationError(source: source, key: "listen." + key,
                                             problem: "\(problem), got \"\(item.printableExcerpt)\"")
                }
                parsed.append(value)
            }
            return parsed
        }
        if let addresses = try list("addresses", problem: "must be host:port with an IP address (IPv6 as [::1]:25)", Address.init) {
            guard !addresses.isEmpty else {
                throw ConfigurationError(source: source, key: "listen.addresses", problem: "must name at least one host:port")
            }
            self.addresses = addresses
        }
        allowNetworks = try list("allow_networks", problem: "must be networks such as 172.17.0.0/16 or fd00::/8", IPNetwork.init)
            ?? allowNetworks
        func bounded(_ key: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
            guard let value = try values.int("listen." + key) else { return nil }
            guard range.contains(value) else {
                throw ConfigurationError(source: source, key: "listen." + key,
                                         problem: "must be from \(range.lowerBound) to \(range.upperBound), got \(value)")
            }
            return value
        }
        maxConnections = try bounded("max_connections", 1...10_000) ?? maxConnections
        maxRecipients = try bounded("max_recipients", 1...100_000) ?? maxRecipients
        maxMessageSize = try bounded("max_message_size", 1...Int(Int32.max)) ?? maxMessageSize
        if let timeout = try values.duration("listen.idle_timeout") {
            guard timeout >= .seconds(1) else {
                throw ConfigurationError(source: source, key: "listen.idle_timeout", problem: "must be at least 1s")
            }
            idleTimeout = timeout
        }
        // Never an open relay: a non-loopback address only with networks that say who may connect.
        if let open = addresses.first(where: { !$0.isLoopback }), allowNetworks.isEmpty {
            throw ConfigurationError(
                source: source, key: "listen.addresses",
                problem: "\(open) is not a loopback address; set listen.allow_networks to the client networks allowed to connect (outbox must never be an open relay)")
        }
    }
}
