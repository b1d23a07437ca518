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

    /// Builds and validates the configuration from any reader (tests use an `InMemoryProvider`):
    /// each settings type reads its own section, in this order, so the first bad key is the one reported.
    public init(reader: ConfigReader, source: String) throws(ConfigurationError) {
        func section(_ name: String) -> ConfigSectionReader {
            ConfigSectionReader(reader: reader, section: name, source: source)
        }
        let smtp = try SMTPSettings(reader: section("smtp"))
        let queue = try QueueSettings(reader: section("queue"))
        let spool = try SpoolSettings(reader: section("spool"))
        let delivery = try DeliverySettings(reader: section("delivery"))
        let log = try LogSettings(reader: section("log"))
        let listen = try ListenSettings(reader: section("listen"), spool: spool)
        self.init(smtp: smtp, queue: queue, spool: spool, delivery: delivery, log: log, source: source, listen: listen)
        metrics = try MetricsSettings(reader: section("metrics"))
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
