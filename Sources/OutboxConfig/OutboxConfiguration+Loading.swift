public import Configuration
import Foundation
import SystemPackage
import OutboxCore

extension OutboxConfiguration {
    /// The default configuration file.
    public static let defaultPath = "/etc/outbox/outbox.yaml"

    /// Reads the configuration the way the daemon does, by precedence:
    /// `OUTBOX_*` environment variables (`OUTBOX_SMTP_HOST` overrides `smtp.host`), then
    /// `$CREDENTIALS_DIRECTORY/smtp.password` (systemd's `LoadCredential=`), then the YAML file,
    /// then the defaults. `environment` defaults to the process's; `credentialsDirectory` to
    /// its `$CREDENTIALS_DIRECTORY`.
    ///
    /// - Throws: ``ConfigurationError`` naming the file and key: unknown keys, wrong types,
    ///   out-of-range values, a missing or unreadable file.
    /// - Parameter requiringSecrets: also refuse a missing OAuth2 secret (outboxd; the CLI verbs
    ///   run without the daemon's credentials and do not need it).
    public static func load(
        file: String = defaultPath,
        environment: [String: String]? = nil,
        credentialsDirectory: String? = nil,
        requiringSecrets: Bool = false
    ) async throws(ConfigurationError) -> OutboxConfiguration {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let credentialsDirectory = credentialsDirectory ?? environment["CREDENTIALS_DIRECTORY"]
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: file) ? "cannot be read (permissions?)" : "does not exist"
            throw ConfigurationError(source: file, key: nil, problem: "the configuration file \(reason)")
        }
        let fileHasSettings = try ConfigSchema.validate(yaml: text, source: file)
        try ConfigSchema.validate(environment: environment)

        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(
                environmentVariables: environment,
                secretsSpecifier: .specific(Set(ConfigSchema.secretKeys.map(ConfigSchema.environmentName(for:))))
            ).prefixKeys(with: "outbox")
        ]
        if let credentialsDirectory {
            // systemd's LoadCredential=: one file per secret, named like its key.
            var secrets: [AbsoluteConfigKey: ConfigValue] = [:]
            for key in ConfigSchema.secretKeys {
                guard let data = FileManager.default.contents(atPath: credentialsDirectory + "/" + key) else { continue }
                var secret = String(decoding: data, as: UTF8.self)
                while secret.hasSuffix("\n") || secret.hasSuffix("\r") { secret.removeLast() }
                secrets[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = ConfigValue(.string(secret), isSecret: true)
            }
            if !secrets.isEmpty {
                providers.append(InMemoryProvider(name: "credentials", values: secrets))
            }
        }
        if fileHasSettings {
            do {
                providers.append(
                    try await FileProvider<YAMLSnapshot>(
                        parsingOptions: .init(secretsSpecifier: .specific(Set(ConfigSchema.secretKeys))),
                        filePath: FilePath(file)))
            } catch {
                throw ConfigurationError(source: file, key: nil, problem: "cannot be read: \(error)")
            }
        }
        do throws(ConfigurationError) {
            let configuration = try OutboxConfiguration(reader: ConfigReader(providers: providers), source: file)
            if requiringSecrets, let missing = configuration.smtp.oauth2?.missingSecret {
                throw ConfigurationError(source: file, key: missing.key, problem: missing.problem)
            }
            return configuration
        } catch {
            // Name the environment variable when the bad value came from there, not the file.
            if let key = error.key, environment[ConfigSchema.environmentName(for: key)] != nil {
                throw ConfigurationError(
                    source: "environment variable \(ConfigSchema.environmentName(for: key))", key: nil, problem: error.problem)
            }
            throw error
        }
    }

    /// Builds and validates the configuration from any reader (tests use an `InMemoryProvider`).
    public init(reader: ConfigReader, source: String) throws(ConfigurationError) {
        let values = ValueReader(reader: reader, source: source)
        var smtp = SMTPSettings()
        smtp.enabled = try values.bool("smtp.enabled") ?? smtp.enabled
        smtp.host = try values.string("smtp.host") ?? smtp.host
        guard !smtp.host.isEmpty, !smtp.host.contains(where: { $0 == " " || $0 == "/" || $0 == "@" }) else {
            throw ConfigurationError(source: source, key: "smtp.host", problem: "must be a host name or IP address, got \"\(smtp.host.printableExcerpt)\"")
        }
        if let raw = try values.string("smtp.protocol") {
            guard let value = SMTPSettings.TransportProtocol(rawValue: raw.lowercased()) else {
                throw ConfigurationError(source: source, key: "smtp.protocol", problem: "must be smtp or smtps, got \"\(raw.printableExcerpt)\"")
            }
            smtp.transportProtocol = value
        }
        smtp.port = smtp.transportProtocol == .smtps ? 465 : 587
        if let port = try values.int("smtp.port") {
            guard (1...65535).contains(port) else {
                throw ConfigurationError(source: source, key: "smtp.port", problem: "must be a whole number from 1 to 65535, got \(port)")
            }
            smtp.port = port
        }
        smtp.username = try values.string("smtp.username") ?? ""
        smtp.password = try values.string("smtp.password", isSecret: true) ?? ""
        smtp.auth = try values.bool("smtp.auth") ?? false
        smtp.startTLS = try values.bool("smtp.start_tls") ?? false
        smtp.sslTrust = try values.string("smtp.ssl_trust") ?? ""
        smtp.emailPrefix = try values.string("smtp.email_prefix") ?? ""
        if let from = try values.string("smtp.from"), !from.isEmpty {
            do {
                smtp.from = try EmailAddress(from)
            } catch {
                throw ConfigurationError(source: source, key: "smtp.from", problem: "not a valid address: \(error)")
            }
        }
        if let from = try values.string("smtp.envelope_from"), !from.isEmpty {
            do {
                smtp.envelopeFrom = try EmailAddress(from)
            } catch {
                throw ConfigurationError(source: source, key: "smtp.envelope_from", problem: "not a valid address: \(error)")
            }
        }
        if let caFile = try values.string("smtp.ca_file"), !caFile.isEmpty {
            guard caFile.hasPrefix("/") else {
                throw ConfigurationError(source: source, key: "smtp.ca_file", problem: "must be an absolute path, got \"\(caFile.printableExcerpt)\"")
            }
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw ConfigurationError(source: source, key: "smtp.ca_file", problem: "cannot read \(caFile)")
            }
            smtp.caFile = caFile
        }
        if let name = try values.string("smtp.ehlo_name"), !name.isEmpty {
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "[" || $0 == "]" || $0 == ":" }),
                name.allSatisfy(\.isASCII)
            else {
                throw ConfigurationError(source: source, key: "smtp.ehlo_name", problem: "must be a host name, got \"\(name.printableExcerpt)\"")
            }
            smtp.ehloName = name
        }
        if let mechanisms = try values.string("smtp.auth_mechanisms") {
            let list = mechanisms.split(whereSeparator: { $0 == " " || $0 == "," }).map { $0.uppercased() }
            let allowed: Set<String> = ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "XOAUTH2", "EXTERNAL", "NTLM", "GSSAPI", "SCRAM-SHA-1", "SCRAM-SHA-256"]
            guard !list.isEmpty, list.allSatisfy(allowed.contains) else {
                throw ConfigurationError(source: source, key: "smtp.auth_mechanisms", problem: "must list SASL mechanisms such as \"PLAIN LOGIN\", got \"\(mechanisms.printableExcerpt)\"")
            }
            smtp.authMechanisms = list
        }
        smtp.connectTimeout = try values.duration("smtp.connect_timeout") ?? smtp.connectTimeout
        smtp.responseTimeout = try values.duration("smtp.response_timeout") ?? smtp.responseTimeout
        if let age = try values.duration("smtp.max_connection_age") {
            guard age >= .seconds(1) else {
                throw ConfigurationError(source: source, key: "smtp.max_connection_age", problem: "must be at least 1s")
            }
            smtp.maximumConnectionAge = age
        }

        smtp.oauth2 = try OAuth2Settings(values: values, smtp: smtp, source: source)
        if let policy = try values.string("smtp.from_policy") {
            guard let value = FromPolicy(rawValue: policy.lowercased()) else {
                throw ConfigurationError(source: source, key: "smtp.from_policy", problem: "must be keep or rewrite, got \"\(policy.printableExcerpt)\"")
            }
            guard value == .keep || smtp.from != nil else {
                throw ConfigurationError(source: source, key: "smtp.from", problem: "required with smtp.from_policy: rewrite: the mailbox every From becomes")
            }
            smtp.fromPolicy = value
        }

        var queue = QueueSettings()
        queue.database = try values.path("queue.database") ?? queue.database
        queue.keepSent = try values.duration("queue.keep_sent") ?? queue.keepSent
        queue.keepFailed = try values.duration("queue.keep_failed") ?? queue.keepFailed
        queue.keepSentContent = try values.bool("queue.keep_sent_content") ?? queue.keepSentContent
        var spool = SpoolSettings()
        spool.directory = try values.path("spool.directory") ?? spool.directory
        spool.rescanInterval = try values.duration("spool.rescan_interval") ?? spool.rescanInterval
        if let size = try values.int("spool.max_message_size") {
            guard size > 0 else { throw ConfigurationError(source: source, key: "spool.max_message_size", problem: "must be a positive number of bytes, got \(size)") }
            spool.maxMessageSize = size
        }

        var delivery = DeliverySettings()
        if let workers = try values.int("delivery.workers") {
            guard (1...64).contains(workers) else {
                throw ConfigurationError(source: source, key: "delivery.workers", problem: "must be from 1 to 64, got \(workers)")
            }
            delivery.workers = workers
        }
        if let rate = try values.int("delivery.rate_limit") {
            guard rate >= 1 else {
                throw ConfigurationError(source: source, key: "delivery.rate_limit", problem: "must be a number of messages per minute, at least 1, got \(rate)")
            }
            delivery.rateLimit = rate
        }
        if let address = try values.string("delivery.failure_notice_to"), !address.isEmpty {
            do {
                delivery.failureNoticeTo = try EmailAddress(address)
            } catch {
                throw ConfigurationError(source: source, key: "delivery.failure_notice_to", problem: "not a valid address: \(error)")
            }
        }
        if let limit = try values.int("delivery.max_recipients_per_transaction") {
            guard (1...10_000).contains(limit) else {
                throw ConfigurationError(
                    source: source, key: "delivery.max_recipients_per_transaction",
                    problem: "must be from 1 to 10000, got \(limit)")
            }
            delivery.maxRecipientsPerTransaction = limit
        }
        delivery.retry.firstDelay = try values.duration("delivery.first_retry") ?? delivery.retry.firstDelay
        delivery.retry.maximumDelay = try values.duration("delivery.max_retry_delay") ?? delivery.retry.maximumDelay
        delivery.retry.lifetime = try values.duration("delivery.lifetime") ?? delivery.retry.lifetime
        if let factor = try values.int("delivery.backoff_factor") {
            guard (1...10).contains(factor) else {
                throw ConfigurationError(source: source, key: "delivery.backoff_factor", problem: "must be from 1 to 10, got \(factor)")
            }
            delivery.retry.factor = Double(factor)
        }

        var log = LogSettings()
        if let level = try values.string("log.level") {
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(level.lowercased()) else {
                throw ConfigurationError(source: source, key: "log.level", problem: "must be one of \(levels.joined(separator: ", ")), got \"\(level.printableExcerpt)\"")
            }
            log.level = level.lowercased()
        }
        let listen = try ListenSettings(values: values, spool: spool, source: source)
        self.init(smtp: smtp, queue: queue, spool: spool, delivery: delivery, log: log, source: source, listen: listen)
        if let listen = try values.string("metrics.listen"), !listen.isEmpty {
            do {
                metrics.listen = try MetricsSettings.Endpoint(listen)
            } catch {
                throw ConfigurationError(source: source, key: "metrics.listen", problem: "\(error)")
            }
        }
    }
}

/// Reads one key at a time and turns "present but wrong" into a ``ConfigurationError``.
///
/// swift-configuration returns the default when a value does not convert; we must tell the user
/// instead. So each key is first looked up as a string (absent → nil), then converted strictly.
struct ValueReader {
    let reader: ConfigReader
    let source: String

    func string(_ key: String, isSecret: Bool = false) throws(ConfigurationError) -> String? {
        reader.string(forKey: ConfigKey(key), isSecret: isSecret)
    }

    func int(_ key: String) throws(ConfigurationError) -> Int? {
        guard let raw = reader.string(forKey: ConfigKey(key)) else { return nil }
        guard let value = Int(raw.trimmingWhitespace()) else {
            throw ConfigurationError(source: source, key: key, problem: "must be a whole number, got \"\(raw.printableExcerpt)\"")
        }
        return value
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let raw = reader.string(forKey: ConfigKey(key)) else { return nil }
        guard let value = BooleanSetting.parse(raw) else {
            throw ConfigurationError(source: source, key: key, problem: "must be true or false, got \"\(raw.printableExcerpt)\"")
        }
        return value
    }

    func path(_ key: String) throws(ConfigurationError) -> String? {
        guard let raw = try string(key) else { return nil }
        guard raw.hasPrefix("/") else {
            throw ConfigurationError(source: source, key: key, problem: "must be an absolute path, got \"\(raw.printableExcerpt)\"")
        }
        return raw
    }

    /// A YAML list, or one string of items separated by spaces or commas (environment variables).
    func list(_ key: String) throws(ConfigurationError) -> [String]? {
        if let items = reader.stringArray(forKey: ConfigKey(key)) { return items.map { $0.trimmingWhitespace() } }
        guard let raw = reader.string(forKey: ConfigKey(key)) else { return nil }
        return raw.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
    }

    func duration(_ key: String) throws(ConfigurationError) -> Duration? {
        guard let raw = reader.string(forKey: ConfigKey(key)) else { return nil }
        guard let value = DurationParser.parse(raw) else {
            throw ConfigurationError(source: source, key: key, problem: "must be a duration such as 30s, 5m, 1h or 5d, got \"\(raw.printableExcerpt)\"")
        }
        return value
    }
}
