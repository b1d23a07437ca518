import Foundation
import OutboxConfig
import OutboxCore
import Testing

/// `smtp.oauth2:`: each provider's defaults, the secrets as credentials, and one-line errors
/// naming the key to fix.
@Suite("OAuth2 configuration")
struct OAuth2ConfigurationTests {
    /// Loads `smtp:` lines (indented under smtp) with these credential files.
    func load(_ smtp: [String], credentials: [String: String] = [:], environment: [String: String] = [:])
        async throws(ConfigurationError) -> OutboxConfiguration
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-oauth2-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("outbox.yaml").path
        FileManager.default.createFile(atPath: file, contents: Data(("smtp:\n" + smtp.map { "  \($0)\n" }.joined()).utf8))
        for (name, value) in credentials {
            FileManager.default.createFile(atPath: directory.path + "/" + name, contents: Data((value + "\n").utf8))
        }
        return try await OutboxConfiguration.load(file: file, environment: environment, credentialsDirectory: directory.path,
                                                  requiringSecrets: true)
    }

    static let base = ["host: smtp.office365.com", "auth: true", "start_tls: true", "username: xnat@example.org"]

    func expectError(_ smtp: [String], credentials: [String: String] = [:], key: String, contains text: String = "")
        async
    {
        do {
            _ = try await load(smtp, credentials: credentials)
            Issue.record("accepted; expected an error naming \(key)")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(text.isEmpty || error.description.contains(text), "\(error)")
            #expect(!error.description.contains("\n"), "one line")
        }
    }

    @Test("Microsoft: the tenant makes the token URL; client_credentials with the .default scope; the secret from a credential file")
    func microsoftDefaults() async throws {
        let configuration = try await load(
            Self.base + ["oauth2:", "  provider: microsoft", "  tenant: example.onmicrosoft.com", "  client_id: app-1"],
            credentials: ["smtp.oauth2.client_secret": "secret-from-credential"])
        let oauth2 = try #require(configuration.smtp.oauth2)
        #expect(oauth2.provider == .microsoft)
        #expect(oauth2.tokenURL == "https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/token")
        #expect(oauth2.grant == .clientCredentials)
        #expect(oauth2.scope == "https://outlook.office365.com/.default")
        #expect(oauth2.clientSecret == "secret-from-credential")
        #expect(oauth2.clientID == "app-1")
    }

    @Test("Google: refresh_token grant, Google's endpoint and the mail.google.com scope; both secrets as credentials")
    func googleDefaults() async throws {
        let configuration = try await load(
            ["host: smtp.gmail.com", "auth: true", "start_tls: true", "username: xnat@example.org",
             "oauth2:", "  provider: google", "  client_id: 123.apps.googleusercontent.com"],
            credentials: ["smtp.oauth2.client_secret": "g-secret", "smtp.oauth2.refresh_token": "1//refresh"])
        let oauth2 = try #require(configuration.smtp.oauth2)
        #expect(oauth2.grant == .refreshToken)
        #expect(oauth2.tokenURL == "https://oauth2.googleapis.com/token")
        #expect(oauth2.scope == "https://mail.google.com/")
        #expect(oauth2.refreshToken == "1//refresh")
        #expect(oauth2.clientSecret == "g-secret")
    }

    @Test("Generic: token_url and scope are required and used as given; environment variables work too")
    func generic() async throws {
        await expectError(Self.base + ["oauth2:", "  provider: generic", "  client_id: c", "  client_secret: s", "  scope: smtp"],
                          key: "smtp.oauth2.token_url")
        await expectError(Self.base + ["oauth2:", "  provider: generic", "  client_id: c", "  client_secret: s",
                                       "  token_url: https://idp.example.org/token"], key: "smtp.oauth2.scope")
        let configuration = try await load(
            Self.base + ["oauth2:", "  provider: generic", "  client_id: c", "  token_url: https://idp.example.org/token",
                         "  scope: smtp.send"],
            environment: ["OUTBOX_SMTP_OAUTH2_CLIENT_SECRET": "env-secret"])
        #expect(configuration.smtp.oauth2?.tokenURL == "https://idp.example.org/token")
        #expect(configuration.smtp.oauth2?.scope == "smtp.send")
        #expect(configuration.smtp.oauth2?.clientSecret == "env-secret")
    }

    @Test("Each mistake is one line naming its key")
    func errors() async {
        let microsoft = ["oauth2:", "  provider: microsoft", "  tenant: t.example.org", "  client_id: c"]
        let secret = ["smtp.oauth2.client_secret": "s"]
        await expectError(Self.base + ["oauth2:", "  provider: yahoo", "  client_id: c"], key: "smtp.oauth2.provider", contains: "yahoo")
        await expectError(Self.base + ["oauth2:", "  tenant: t", "  client_id: c"], key: "smtp.oauth2.provider")
        await expectError(Self.base + ["oauth2:", "  provider: microsoft", "  client_id: c"], credentials: secret, key: "smtp.oauth2.tenant")
        await expectError(Self.base + ["oauth2:", "  provider: microsoft", "  tenant: t"], credentials: secret, key: "smtp.oauth2.client_id")
        await expectError(Self.base + microsoft, key: "smtp.oauth2.client_secret", contains: "credential")
        await expectError(Self.base + microsoft + ["  grant: password"], credentials: secret, key: "smtp.oauth2.grant")
        await expectError(Self.base + microsoft + ["  grant: refresh_token"], credentials: secret, key: "smtp.oauth2.refresh_token")
        await expectError(Self.base + microsoft + ["  token_url: http://login.example.org/token"], credentials: secret,
                          key: "smtp.oauth2.token_url", contains: "https")
        await expectError(Self.base + microsoft + ["  colour: blue"], credentials: secret, key: "smtp.oauth2.colour")
        await expectError(["host: h", "auth: false", "username: u"] + microsoft, credentials: secret, key: "smtp.auth")
        await expectError(Self.base + ["password: pw"] + microsoft, credentials: secret, key: "smtp.password", contains: "blank")
        await expectError(["host: h", "auth: true"] + microsoft, credentials: secret, key: "smtp.username", contains: "mailbox")
    }

    @Test("The CLI's view (no credentials) loads without the secrets; outboxd's refuses, naming the credential")
    func secretsOnlyForTheDaemon() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-oauth2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("outbox.yaml").path
        let yaml = "smtp:\n" + (Self.base + ["oauth2:", "  provider: microsoft", "  tenant: t.example.org", "  client_id: c"])
            .map { "  \($0)\n" }.joined()
        FileManager.default.createFile(atPath: file, contents: Data(yaml.utf8))
        let cli = try await OutboxConfiguration.load(file: file, environment: [:], credentialsDirectory: "/nonexistent")
        #expect(cli.smtp.oauth2?.missingSecret?.key == "smtp.oauth2.client_secret")
        await #expect(throws: ConfigurationError.self) {
            _ = try await OutboxConfiguration.load(file: file, environment: [:], credentialsDirectory: "/nonexistent",
                                                   requiringSecrets: true)
        }
    }

    @Test("Descriptions (which service-lifecycle logs at debug level) never show the password, secret or refresh token")
    func descriptionsHideSecrets() async throws {
        let configuration = try await load(
            ["host: h", "auth: true", "username: u", "oauth2:", "  provider: google", "  client_id: c"],
            credentials: ["smtp.oauth2.client_secret": "SECRET-descr-1", "smtp.oauth2.refresh_token": "RT-descr-2"])
        var withPassword = configuration.smtp
        withPassword.password = "PW-descr-3"
        for text in ["\(configuration)", String(reflecting: configuration), "\(withPassword)", String(reflecting: withPassword)] {
            #expect(!text.contains("SECRET-descr-1") && !text.contains("RT-descr-2") && !text.contains("PW-descr-3"), "\(text)")
            #expect(text.contains("<secret>"))
        }
    }

    @Test("Without smtp.oauth2 nothing changes, even with a stray client secret credential")
    func absent() async throws {
        let configuration = try await load(["host: h", "auth: true", "username: u", "password: p"],
                                           credentials: ["smtp.oauth2.client_secret": "s"])
        #expect(configuration.smtp.oauth2 == nil)
        #expect(configuration.smtp.password == "p")
    }
}

@Suite("smtp.from_policy configuration")
struct FromPolicyConfigurationTests {
    func load(_ smtp: [String]) async throws(ConfigurationError) -> OutboxConfiguration {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-policy-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("outbox.yaml").path
        FileManager.default.createFile(atPath: file, contents: Data(("smtp:\n" + smtp.map { "  \($0)\n" }.joined()).utf8))
        return try await OutboxConfiguration.load(file: file, environment: [:], credentialsDirectory: "/nonexistent")
    }

    @Test("keep by default; rewrite needs smtp.from; anything else is refused naming the key")
    func policy() async throws {
        #expect(try await load(["host: h"]).smtp.fromPolicy == .keep)
        #expect(try await load(["host: h", "from: box@example.org", "from_policy: Rewrite"]).smtp.fromPolicy == .rewrite)
        do {
            _ = try await load(["host: h", "from_policy: rewrite"])
            Issue.record("rewrite without smtp.from accepted")
        } catch {
            #expect(error.key == "smtp.from")
        }
        do {
            _ = try await load(["host: h", "from: box@example.org", "from_policy: always"])
            Issue.record("an unknown policy accepted")
        } catch {
            #expect(error.key == "smtp.from_policy")
        }
    }
}
