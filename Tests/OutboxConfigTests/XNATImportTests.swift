import Foundation
import OutboxConfig
import OutboxCore
import Testing

@Suite("INI parsing")
struct INIDocumentTests {
    @Test("Sections, key=value and key: value, comments, blank lines, CRLF line ends and quotes")
    func parsesXNATStyle() throws {
        let text = "; XNAT prefs\r\n[siteConfig]\r\nadminEmail = admin@example.org\r\n\r\n# mail\r\n[notifications]\r\nhostname=smtp.gmail.com\r\nport: 587\r\nemailPrefix=\"[XNAT] \"\r\nempty=\r\n"
        let document = try INIDocument(parsing: text)
        #expect(document["siteConfig", "adminEmail"] == "admin@example.org")
        #expect(document["notifications", "hostname"] == "smtp.gmail.com")
        #expect(document["notifications", "port"] == "587")
        #expect(document["notifications", "emailPrefix"] == "[XNAT] ")
        #expect(document["notifications", "empty"] == "")
        #expect(document["notifications", "missing"] == nil)
    }

    @Test("A value may contain = and :; the first separator splits; a repeated key keeps its last value")
    func separators() throws {
        let document = try INIDocument(parsing: "[a]\nurl=http://x.example.org/?a=b\nk=1\nk=2\n")
        #expect(document["a", "url"] == "http://x.example.org/?a=b")
        #expect(document["a", "k"] == "2")
    }

    @Test("Lines that are not INI are reported with their number",
          arguments: [("[a]\njust text\n", 2), ("[unclosed\n", 1), ("[a]\n=value\n", 2), ("[]\n", 1)])
    func rejects(text: String, line: Int) {
        let error = #expect(throws: INIDocument.ParseError.self) { try INIDocument(parsing: text) }
        #expect(error?.line == line)
    }
}

@Suite("XNAT import")
struct XNATImportTests {
    /// XNAT's shipped sample (prefs-init.ini for Gmail), as the issue quotes it.
    static let gmailSample = """
        [siteConfig]
        siteId=XNAT
        adminEmail=admin@xnat.example.org

        [notifications]
        hostname=smtp.gmail.com
        username=xnat.admin@gmail.com
        password=app-password-1234
        port=587
        protocol=smtp
        smtpAuth=true
        smtpStartTls=true
        """

    /// Writes `yaml` to a fresh file and loads it as outboxd does (no environment, no credentials).
    func load(_ yaml: String) async throws -> OutboxConfiguration {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-xnat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("outbox.yaml").path
        FileManager.default.createFile(atPath: file, contents: Data(yaml.utf8))
        return try await OutboxConfiguration.load(file: file, environment: [:], credentialsDirectory: "/nonexistent")
    }

    @Test("XNAT's Gmail sample becomes YAML that outboxd loads with the same settings, without the password")
    func gmailSample() async throws {
        let preferences = XNATPreferences(initial: try INIDocument(parsing: Self.gmailSample))
        let yaml = try preferences.yaml(sources: ["prefs-init.ini"])
        #expect(!yaml.contains("app-password-1234"), "the password is never printed")
        #expect(yaml.contains("/etc/outbox/smtp.password"), "the output says where the password goes")
        #expect(preferences.hasPassword)
        let configuration = try await load(yaml)
        #expect(configuration.smtp.host == "smtp.gmail.com")
        #expect(configuration.smtp.port == 587)
        #expect(configuration.smtp.username == "xnat.admin@gmail.com")
        #expect(configuration.smtp.password == "")
        #expect(configuration.smtp.transportProtocol == .smtp)
        #expect(configuration.smtp.auth)
        #expect(configuration.smtp.startTLS)
        #expect(configuration.smtp.from?.value == "admin@xnat.example.org")
        #expect(configuration.smtp.enabled, "not set by XNAT: outbox's default")
    }

    @Test("The override file wins over the init file, whichever name (canonical or alias) each uses")
    func overrideWins() async throws {
        let initial = try INIDocument(parsing: "[notifications]\nsmtpHostname=old.example.org\nport=25\nsmtpEnabled=true\nemailPrefix=OLD\n")
        let override = try INIDocument(parsing: "[notifications]\nhostname=new.example.org\nsmtpPort=465\nprotocol=SMTPS\nsmtpEnabled=false\n")
        let yaml = try XNATPreferences(initial: initial, override: override).yaml(sources: ["prefs-init.ini", "prefs-override.ini"])
        let configuration = try await load(yaml)
        #expect(configuration.smtp.host == "new.example.org")
        #expect(configuration.smtp.port == 465)
        #expect(configuration.smtp.transportProtocol == .smtps)
        #expect(!configuration.smtp.enabled)
        #expect(configuration.smtp.emailPrefix == "OLD", "a key only the init file sets is kept")
    }

    @Test("Within one file the canonical name wins over its alias")
    func canonicalWinsOverAlias() async throws {
        let document = try INIDocument(parsing: "[notifications]\nhostname=alias.example.org\nsmtpHostname=canonical.example.org\n")
        let configuration = try await load(try XNATPreferences(initial: document).yaml(sources: ["prefs-init.ini"]))
        #expect(configuration.smtp.host == "canonical.example.org")
    }

    @Test("Text with YAML's special characters survives quoting exactly")
    func quoting() async throws {
        let prefix = #"[XNAT] "quoted" # not a comment \ back: colon"#
        let document = try INIDocument(parsing: "[notifications]\nemailPrefix=\(prefix)\nsmtpSslTrust=*\n")
        let configuration = try await load(try XNATPreferences(initial: document).yaml(sources: ["prefs-init.ini"]))
        #expect(configuration.smtp.emailPrefix == prefix)
        #expect(configuration.smtp.sslTrust == "*")
    }

    @Test("Values outbox would refuse are reported with XNAT's key",
          arguments: [("smtpPort=abc", "smtpPort"), ("port=70000", "smtpPort"), ("smtpAuth=maybe", "smtpAuth"),
                      ("protocol=imap", "smtpProtocol")])
    func refusesBadValues(line: String, key: String) throws {
        let preferences = XNATPreferences(initial: try INIDocument(parsing: "[notifications]\n\(line)\n"))
        let error = #expect(throws: XNATPreferences.ImportError.self) { try preferences.yaml(sources: ["prefs-init.ini"]) }
        #expect(error?.key == key)
    }

    @Test("Files without mail settings give an empty smtp section that still loads")
    func nothingToImport() async throws {
        let yaml = try XNATPreferences(initial: try INIDocument(parsing: "[siteConfig]\nsiteId=XNAT\n")).yaml(sources: ["prefs-init.ini"])
        let configuration = try await load(yaml)
        #expect(configuration.smtp.host == "localhost")
    }
}

@Suite("import-xnat: OAuth2 stub")
struct XNATImportOAuth2StubTests {
    @Test("smtp.office365.com and smtp.gmail.com get a commented oauth2: stub that loads once uncommented; other hosts none",
          arguments: [("smtp.office365.com", "microsoft"), ("smtp.gmail.com", "google"), ("mail.example.org", "")])
    func stub(host: String, provider: String) async throws {
        let ini = "[notifications]\nhostname=\(host)\nusername=xnat@example.org\nsmtpAuth=true\nsmtpStartTls=true\n"
        let yaml = try XNATPreferences(initial: try INIDocument(parsing: ini)).yaml(sources: ["prefs-init.ini"])
        guard !provider.isEmpty else {
            #expect(!yaml.contains("oauth2"))
            return
        }
        #expect(yaml.contains("  # oauth2:\n"), "\(yaml)")
        #expect(yaml.contains("#   provider: \(provider)\n"), "\(yaml)")
        // Uncommented, with the secrets as credential files, it is a valid configuration.
        let uncommented = yaml.split(separator: "\n").map { line in
            line.hasPrefix("  # oauth2:") || line.hasPrefix("  #   ") ? line.replacingOccurrences(of: "  # ", with: "  ") : String(line)
        }.joined(separator: "\n") + "\n"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-stub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("outbox.yaml").path
        FileManager.default.createFile(atPath: file, contents: Data(uncommented.utf8))
        for name in ["smtp.oauth2.client_secret", "smtp.oauth2.refresh_token"] {
            FileManager.default.createFile(atPath: directory.path + "/" + name, contents: Data("x\n".utf8))
        }
        let configuration = try await OutboxConfiguration.load(file: file, environment: [:], credentialsDirectory: directory.path)
        #expect(configuration.smtp.oauth2?.provider.rawValue == provider, "\(uncommented)")
    }
}
