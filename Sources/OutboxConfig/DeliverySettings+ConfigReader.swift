import OutboxCore

extension DeliverySettings {
    /// The keys under `delivery:` and their types (see ``DeliverySettings``).
    static let configKeys: [String: ConfigSchema.ValueType] = [
        "workers": .int, "first_retry": .duration, "max_retry_delay": .duration, "backoff_factor": .int,
        "lifetime": .duration, "rate_limit": .int, "failure_notice_to": .address, "max_recipients_per_transaction": .int,
    ]

    /// Reads `delivery.*`; throws one line naming the key.
    init(reader: ConfigSectionReader) throws(ConfigurationError) {
        self.init()
        workers = try reader.int("workers", in: 1...64) ?? workers
        if let rate = try reader.int("rate_limit") {
            guard rate >= 1 else {
                throw reader.error("rate_limit", "must be a number of messages per minute, at least 1, got \(rate)")
            }
            rateLimit = rate
        }
        failureNoticeTo = try reader.address("failure_notice_to")
        maxRecipientsPerTransaction = try reader.int("max_recipients_per_transaction", in: 1...10_000)
            ?? maxRecipientsPerTransaction
        retry.firstDelay = try reader.duration("first_retry") ?? retry.firstDelay
        retry.maximumDelay = try reader.duration("max_retry_delay") ?? retry.maximumDelay
        retry.lifetime = try reader.duration("lifetime") ?? retry.lifetime
        if let factor = try reader.int("backoff_factor", in: 1...10) { retry.factor = Double(factor) }
    }
}
