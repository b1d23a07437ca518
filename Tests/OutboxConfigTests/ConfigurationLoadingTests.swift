import Foundation
import OutboxConfig
import OutboxCore
import Testing

@Suite("Configuration loading and validation")
struct ConfigurationLoadingTests {
    /// Writes `yaml` to a fresh file and loads it with `environment` (never the process's).
    func load(_ yaml: String, environment: [String: String] = [:], credentials: String? = nil) async throws(ConfigurationError)
        -> OutboxConfiguration
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-config-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("outbox.yaml").path
        FileManager.default.createFile(atPath: file, contents: Data(yaml.utf8))
        var credentialsDirectory: String?
        if let credentials {
            credentialsDirectory = directory.path
            FileManager.default.createFile(atPath: directory.path + "/smtp.password", contents: Data((credentials + "\n").utf8))
        }
        return try await OutboxConfiguration.load(file: file, environment: environment, credentialsDirectory: credentialsDirectory ?? "/nonexistent")
    }

    /// Expects `yaml` to be refused with one line containing `expected`; returns that line.
    @discardableResult
    func expectError(_ yaml: String, environment: [String: String] = [:], contains expected: String) async -> String? {
        do {
            _ = try await load(yaml, environment: environment)
            Issue.record("accepted a bad configuration; expected an error containing \(expected)")
            return nil
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
            #expect(!error.description.contains("\n"), "the error must be one line")
            return error.description
        }
    }

    @Test("The shipped sample configuration loads")
    func sample() async throws {
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../etc/outbox/outbox.yaml").standardized.path
        let configuration = try await OutboxConfiguration.load(file: sample, environment: [:], credentialsDirectory: "/nonexistent")
        #expect(configuration.smtp.host == "smtp.example.org")
        #expect(configuration.smtp.port == 587)
        #expect(configuration.queue.database == "/var/lib/outbox/queue.sqlite3")
        #expect(configuration.spool.directory == "/var/spool/outbox")
    }

    @Test("Every XNAT mail setting is read")
    func allSettings() async throws {
        let configuration = try await load("""
            smtp:
              enabled: false
              host: mail.example.org
              port: 2525
              username: xnat
              password: "s3cret"
              protocol: smtps
              auth: true
              start_tls: true
              ssl_trust: "mail.example.org 127.0.0.1"
              email_prefix: XNAT
              from: admin@xnat.example.org
            delivery:
              workers: 2
              first_retry: 30s
              max_retry_delay: 2h
              lifetime: 3d
            """)
        let smtp = configuration.smtp
        #expect(smtp.enabled == false)
        #expect(smtp.host == "mail.example.org")
        #expect(smtp.port == 2525)
        #expect(smtp.username == "xnat")
        #expect(smtp.password == "s3cret")
        #expect(smtp.transportProtocol == .smtps)
        #expect(smtp.auth && smtp.startTLS)
        #expect(smtp.trustedHosts == ["mail.example.org", "127.0.0.1"])
        #expect(smtp.skipsCertificateVerification)
        #expect(smtp.emailPrefix == "XNAT")
        #expect(smtp.from?.value == "admin@xnat.example.org")
        #expect(configuration.delivery.workers == 2)
        #expect(configuration.delivery.retry.firstDelay == .seconds(30))
        #expect(configuration.delivery.retry.maximumDelay == .seconds(7200))
        #expect(configuration.delivery.retry.lifetime == .seconds(3 * 86_400))
    }

    @Test("The delivery settings beyond XNAT's are read: envelope_from, ehlo_name, rate_limit")
    func deliveryExtras() async throws {
        let configuration = try await load(
            "smtp:\n  envelope_from: bounces@relay.example.org\n  ehlo_name: xnat.example.org\ndelivery:\n  rate_limit: 20\n")
        #expect(configuration.smtp.envelopeFrom?.value == "bounces@relay.example.org")
        #expect(configuration.smtp.ehloName == "xnat.example.org")
        #expect(configuration.delivery.rateLimit == 20)
        #expect(try await load("").delivery.rateLimit == nil)
    }

    @Test("An empty file gives the defaults; smtps defaults to port 465")
    func defaults() async throws {
        let empty = try await load("")
        #expect(empty.smtp.enabled && empty.smtp.port == 587 && empty.smtp.transportProtocol == .smtp)
        #expect(empty.smtp.authMechanisms == ["PLAIN", "LOGIN"])
        #expect(try await load("smtp:\n  protocol: smtps\n").smtp.port == 465)
    }

    @Test("Environment variables override the file; the credentials directory supplies the password")
    func layering() async throws {
        let configuration = try await load(
            "smtp:\n  host: from-file.example.org\n  port: 25\n  password: in-file\n",
            environment: ["OUTBOX_SMTP_HOST": "from-env.example.org", "OUTBOX_SMTP_ENABLED": "false"],
            credentials: "from-credential")
        #expect(configuration.smtp.host == "from-env.example.org")
        #expect(configuration.smtp.enabled == false)
        #expect(configuration.smtp.port == 25)
        #expect(configuration.smtp.password == "from-credential")
    }

    @Test("A typo in a key is refused with a suggestion")
    func unknownKey() async {
        await expectError("smtp:\n  start_tsl: true\n", contains: "smtp.start_tsl: unknown key (did you mean smtp.start_tls?)")
        await expectError("smpt:\n  host: x\n", contains: "smpt: unknown key (did you mean smtp?)")
        await expectError("smtp:\n  host: x\n", environment: ["OUTBOX_SMTP_HOSTNAME": "y"], contains: "OUTBOX_SMTP_HOSTNAME: unknown key")
    }

    @Test("An unknown key with line breaks or of great length is named on one short line (found by bench/faults.sh fuzz)")
    func unknownKeyIsOneLine() async {
        await expectError("smtp:\n  \"f\\n\\nalse\": x\n", contains: "smtp.f??alse: unknown key")
        let long = await expectError("smtp:\n  \(String(repeating: "a", count: 1000)): x\n", contains: "smtp.aaaa")
        #expect((long?.count ?? .max) < 300, "\(long?.count ?? 0) characters")
    }

    @Test("Wrong types and values name the file and the key",
          arguments: [
            ("smtp:\n  port: 70000\n", "outbox.yaml: smtp.port: must be a whole number from 1 to 65535, got 70000"),
            ("smtp:\n  port: abc\n", "smtp.port: must be a whole number, got \"abc\""),
            ("smtp:\n  protocol: ftp\n", "smtp.protocol: must be smtp or smtps, got \"ftp\""),
            ("smtp:\n  enabled: maybe\n", "smtp.enabled: must be true or false, got \"maybe\""),
            ("smtp:\n  from: not-an-address\n", "smtp.from: not a valid address: it has no @domain"),
            ("smtp:\n  host: \"\"\n", "smtp.host: must be a host name"),
            ("smtp:\n  host: [a, b]\n", "smtp.host: expected a single value"),
            ("queue:\n  database: relative.sqlite3\n", "queue.database: must be an absolute path"),
            ("delivery:\n  workers: 0\n", "delivery.workers: must be from 1 to 64, got 0"),
            ("delivery:\n  first_retry: soon\n", "delivery.first_retry: must be a duration"),
            ("delivery:\n  rate_limit: 0\n", "delivery.rate_limit: must be a number of messages per minute, at least 1, got 0"),
            ("smtp:\n  envelope_from: \"a b@c.org\"\n", "smtp.envelope_from: not a valid address"),
            ("smtp:\n  ca_file: /nonexistent/ca.pem\n", "smtp.ca_file: cannot read /nonexistent/ca.pem"),
            ("smtp: [1, 2]\n", "smtp: expected a mapping of settings"),
            ("smtp:\n  host: x\n   bad indent: [\n", "not valid YAML"),
          ])
    func badValues(yaml: String, expected: String) async {
        await expectError(yaml, contains: expected)
    }

    @Test("A bad value from the environment names the variable")
    func badEnvironmentValue() async {
        await expectError("", environment: ["OUTBOX_SMTP_PORT": "abc"], contains: "environment variable OUTBOX_SMTP_PORT: must be a whole number")
    }

    @Test("A missing file is one clear line")
    func missingFile() async {
        do {
            _ = try await OutboxConfiguration.load(file: "/nonexistent/outbox.yaml", environment: [:])
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.description == "/nonexistent/outbox.yaml: the configuration file does not exist")
        }
    }

    @Test("Durations accept seconds and units", arguments: [
        ("45", Duration.seconds(45)), ("45s", .seconds(45)), ("5m", .seconds(300)), ("2h", .seconds(7200)),
        ("5d", .seconds(432_000)), ("250ms", .milliseconds(250)),
    ])
    func durations(text: String, expected: Duration) {
        #expect(DurationParser.parse(text) == expected)
    }

    @Test("metrics.listen is off by default and takes host:port or [v6]:port")
    func metricsListen() async throws {
        #expect(try await load("smtp:\n  host: mail.example.org\n").metrics.listen == nil)
        #expect(try await load("metrics:\n  listen: 127.0.0.1:9469\n").metrics.listen == .init(host: "127.0.0.1", port: 9469))
        #expect(try await load("metrics:\n  listen: \"[::1]:9469\"\n").metrics.listen == .init(host: "::1", port: 9469))
        #expect(try await load("metrics:\n  listen: \"\"\n").metrics.listen == nil)
        #expect(try await load("", environment: ["OUTBOX_METRICS_LISTEN": "localhost:9100"]).metrics.listen?.description == "localhost:9100")
    }

    @Test("A bad metrics.listen is refused naming the key",
          arguments: ["9469", "127.0.0.1:", "127.0.0.1:70000", ":9469", "::1:9469", "[::1]9469", "host name:80"])
    func metricsListenRefused(value: String) async {
        await expectError("metrics:\n  listen: \"\(value)\"\n", contains: "metrics.listen")
    }
}
