import Foundation
import OutboxCore
import Testing

@testable import OutboxConfig

/// The schema declares each key's type; every settings type reads its section through a
/// ``ConfigSectionReader`` that checks values as declared. These tests hold the two together.
@Suite("Configuration by section")
struct ConfigSectionTests {
    func load(_ yaml: String, environment: [String: String] = [:]) async throws(ConfigurationError) -> OutboxConfiguration {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-section-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("outbox.yaml").path
        FileManager.default.createFile(atPath: file, contents: Data(yaml.utf8))
        return try await OutboxConfiguration.load(file: file, environment: environment, credentialsDirectory: "/nonexistent")
    }

    /// A value each checked type refuses, and the start of the problem it is refused with.
    static let refusals: [ConfigSchema.ValueType: (value: String, problem: String)] = [
        .int: ("many", "must be a whole number, got \"many\""),
        .bool: ("maybe", "must be true or false, got \"maybe\""),
        .duration: ("soon", "must be a duration such as 30s, 5m, 1h or 5d, got \"soon\""),
        .path: ("relative/dir", "must be an absolute path, got \"relative/dir\""),
        .address: ("not an address", "not a valid address: "),
    ]

    /// Every key whose declared type can refuse a value (strings, secrets and lists take any text).
    static let checkedKeys = ConfigSchema.keys.filter { refusals[$0.value] != nil }.map(\.key).sorted()

    @Test("Every key is checked as the schema declares it, and the error names the whole key", arguments: checkedKeys)
    func declaredTypeIsTheCheck(key: String) async throws {
        let type = try #require(ConfigSchema.keys[key])
        let refusal = try #require(Self.refusals[type])
        let parts = key.split(separator: ".").map(String.init)
        var yaml = ""
        for (depth, part) in parts.dropLast().enumerated() {
            yaml += String(repeating: "  ", count: depth) + "\(part):\n"
        }
        yaml += String(repeating: "  ", count: parts.count - 1) + "\(parts.last!): \"\(refusal.value)\"\n"
        let error = await #expect(throws: ConfigurationError.self) { try await load(yaml) }
        #expect(error?.key == key, "\(key): \(error.map { "\($0)" } ?? "accepted")")
        #expect(error?.problem.hasPrefix(refusal.problem) == true, "\(key): \(error.map { "\($0)" } ?? "accepted")")
    }

    @Test("The same check applies to a value given in the environment, named as the variable", arguments: checkedKeys)
    func environmentIsCheckedToo(key: String) async throws {
        let type = try #require(ConfigSchema.keys[key])
        let refusal = try #require(Self.refusals[type])
        let variable = ConfigSchema.environmentName(for: key)
        let error = await #expect(throws: ConfigurationError.self) {
            try await load("", environment: [variable: refusal.value])
        }
        #expect(error?.description.hasPrefix("environment variable \(variable): \(refusal.problem)") == true,
                "\(error.map { "\($0)" } ?? "accepted")")
    }

    @Test("The schema is the union of the sections the settings types declare, secrets included")
    func schemaFromSections() {
        let total = ConfigSchema.sectionKeys.reduce(0) { $0 + $1.keys.count }
        #expect(ConfigSchema.keys.count == total)
        #expect(ConfigSchema.keys["smtp.port"] == .int)
        #expect(ConfigSchema.keys["smtp.oauth2.client_id"] == .string)
        #expect(ConfigSchema.secretKeys == ["smtp.oauth2.client_secret", "smtp.oauth2.refresh_token", "smtp.password"])
        #expect(ConfigSchema.subsections == ["smtp.oauth2"])
        #expect(ConfigSchema.sections == ["smtp", "queue", "spool", "delivery", "log", "listen", "metrics"])
    }

    @Test("Each section is read by its own settings type, and a subsection names its whole key")
    func sectionsAndSubsections() async throws {
        let configuration = try await load("""
            smtp:
              host: relay.example.org
              auth: true
              username: sender@example.org
              oauth2:
                provider: google
                client_id: the-client
            queue:
              database: /srv/outbox/queue.sqlite3
            spool:
              directory: /srv/outbox/spool
            delivery:
              workers: 3
              failure_notice_to: postmaster@example.org
            log:
              level: DEBUG
            metrics:
              listen: 127.0.0.1:9469
            """)
        #expect(configuration.smtp.host == "relay.example.org")
        #expect(configuration.smtp.oauth2?.clientID == "the-client")
        #expect(configuration.queue.database == "/srv/outbox/queue.sqlite3")
        #expect(configuration.spool.directory == "/srv/outbox/spool")
        #expect(configuration.delivery.workers == 3)
        #expect(configuration.delivery.failureNoticeTo?.description == "postmaster@example.org")
        #expect(configuration.log.level == "debug")
        #expect(configuration.metrics.listen?.description == "127.0.0.1:9469")
        #expect(configuration.listen == nil)

        let error = await #expect(throws: ConfigurationError.self) {
            try await load("smtp:\n  auth: true\n  username: a@example.org\n  oauth2:\n    provider: yahoo\n    client_id: x\n")
        }
        #expect(error?.key == "smtp.oauth2.provider")
    }

    @Test("A range check names the key and the range", arguments: [
        ("delivery", "workers", "0", "must be from 1 to 64, got 0"),
        ("delivery", "backoff_factor", "11", "must be from 1 to 10, got 11"),
        ("delivery", "max_recipients_per_transaction", "10001", "must be from 1 to 10000, got 10001"),
        ("listen", "max_connections", "0", "must be from 1 to 10000, got 0"),
    ])
    func ranges(section: String, name: String, value: String, problem: String) async throws {
        let error = await #expect(throws: ConfigurationError.self) { try await load("\(section):\n  \(name): \(value)\n") }
        #expect(error?.key == "\(section).\(name)")
        #expect(error?.problem == problem)
    }

    @Test("A blank optional path or address is no setting; a blank required path is refused")
    func blanks() async throws {
        let configuration = try await load("smtp:\n  ca_file: \"\"\n  from: \"\"\ndelivery:\n  failure_notice_to: \"\"\n")
        #expect(configuration.smtp.caFile == nil)
        #expect(configuration.smtp.from == nil)
        #expect(configuration.delivery.failureNoticeTo == nil)
        let error = await #expect(throws: ConfigurationError.self) { try await load("queue:\n  database: \"\"\n") }
        #expect(error?.description.hasSuffix("queue.database: must be an absolute path, got \"\"") == true)
    }
}
