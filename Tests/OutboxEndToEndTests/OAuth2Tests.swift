import Foundation
import Testing

/// A token endpoint of our own (scripts/oauth2-token-server.py: HTTPS with a test CA, Microsoft's
/// and Google's grants and error JSON), a real SMTP server offering AUTH XOAUTH2 only that accepts
/// only a live token for the mailbox (scripts/smtp-server.py --xoauth2-tokens), and the real
/// outboxd and outbox between them.
final class TokenEndpoint {
    let scratch: Scratch
    let control: String
    let tokens: String
    let log: String
    private(set) var port = 0
    private var process: ChildProcess?

    init(scratch: Scratch, ca: TestCA, control settings: [String: Any]) throws {
        self.scratch = scratch
        control = scratch.file("token-control.json")
        tokens = scratch.file("token-issued.json")
        log = scratch.file("token-requests.log")
        try setControl(settings)
        let portFile = scratch.file("token-port")
        let process = try ChildProcess(
            "/usr/bin/python3",
            [Paths.tokenServerScript, "--host", "127.0.0.1", "--port", "0", "--port-file", portFile, "--cert", ca.certificate,
             "--key", ca.key, "--control", control, "--tokens", tokens, "--log", log],
            outputPath: scratch.file("token-server.out"))
        self.process = process
        if let listening = waitForPortFile(portFile, of: process) {
            port = listening
            return
        }
        throw TestFailure("the token endpoint did not start: \((try? String(contentsOfFile: scratch.file("token-server.out"), encoding: .utf8)) ?? "")")
    }

    func setControl(_ settings: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: settings)
        FileManager.default.createFile(atPath: control + ".tmp", contents: data)
        _ = rename(control + ".tmp", control)
    }

    func url(_ path: String) -> String { "https://127.0.0.1:\(port)\(path)" }

    /// One line per request: "GRANT CLIENT_ID -> ok|ERROR".
    var requests: [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Every access token issued so far.
    var issuedTokens: [String] {
        guard let data = FileManager.default.contents(atPath: tokens),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [] }
        return Array(object.keys)
    }

    func stop() {
        process?.signal(SIGTERM)
        process?.wait()
        process = nil
    }

    deinit { stop() }
}

@Suite("OAuth2 (XOAUTH2) against a real token endpoint and SMTP server", .serialized, .timeLimit(.minutes(3)))
struct OAuth2Tests {
    static let mailbox = "xnat-mailer@example.org"
    static let clientID = "c0ffee00-client"
    static let secret = "SECRET-qz7Kp2wV9xLr4Nt"
    static let refreshToken = "RT-configured-h6Jd3Mf8Ys1"

    /// Everything one test needs: CA, token endpoint, XOAUTH2-only SMTP server, credentials dir.
    final class Setup {
        let scratch = Scratch()
        let ca: TestCA
        let endpoint: TokenEndpoint
        let server: SMTPTestServer
        let credentials: String
        var sessionLog: String { scratch.file("session.log") }
        var said: [String] {
            ((try? String(contentsOfFile: sessionLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        init(control: [String: Any], style: String = "microsoft") throws {
            ca = try TestCA(in: scratch)
            endpoint = try TokenEndpoint(scratch: scratch, ca: ca, control: control)
            server = try SMTPTestServer(
                scratch: scratch,
                arguments: ca.serverArguments + ["--auth-user", OAuth2Tests.mailbox, "--xoauth2-tokens", endpoint.tokens,
                                                 "--xoauth2-style", style, "--session-log", scratch.file("session.log")])
            credentials = scratch.file("credentials")
            try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        }

        func credential(_ name: String, _ value: String) {
            FileManager.default.createFile(atPath: credentials + "/" + name, contents: Data((value + "\n").utf8))
        }

        /// smtp: lines for this server, with these oauth2: lines.
        func smtp(_ oauth2: [String]) -> [String] {
            ["host: 127.0.0.1", "port: \(server.port)", "start_tls: true", "ca_file: \(ca.caCertificate)", "auth: true",
             "username: \(OAuth2Tests.mailbox)", "oauth2:"] + oauth2.map { "  " + $0 }
        }

        func daemon(_ oauth2: [String], extra: String = "") -> DaemonUnderTest {
            let daemon = DaemonUnderTest()
            daemon.configure(smtp: smtp(oauth2), extra: extra)
            daemon.environment = ["CREDENTIALS_DIRECTORY": credentials]
            return daemon
        }

        func outbox(_ daemon: DaemonUnderTest, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try run(Paths.outbox, arguments + ["--config", daemon.configPath], environment: ["CREDENTIALS_DIRECTORY": credentials])
        }
    }

    static func message(_ n: Int) -> String {
        "From: XNAT <admin@xnat.example.org>\nTo: user\(n)@example.org\nSubject: OAuth2 \(n)\n\nHello \(n)\n"
    }

    static func microsoftControl(expiresIn: Int = 3600) -> [String: Any] {
        ["clients": [clientID: secret], "scope": "https://outlook.office365.com/.default",
         "path": "/example.onmicrosoft.com/oauth2/v2.0/token", "expires_in": expiresIn, "style": "microsoft"]
    }

    static func microsoftLines(_ setup: Setup) -> [String] {
        ["provider: microsoft", "tenant: example.onmicrosoft.com", "client_id: \(clientID)",
         "token_url: \(setup.endpoint.url("/example.onmicrosoft.com/oauth2/v2.0/token"))"]
    }

    func states(_ daemon: DaemonUnderTest) -> [String] { ((try? daemon.list()) ?? []).compactMap { $0["state"] as? String } }

    // MARK: Providers

    @Test("Each provider's defaults (grant, scope) get a token and the mail goes out over XOAUTH2",
          arguments: ["microsoft", "google", "generic"])
    func providers(provider: String) async throws {
        let control: [String: Any]
        let setup: Setup
        var lines: [String]
        switch provider {
        case "microsoft":
            control = Self.microsoftControl()
            setup = try Setup(control: control)
            setup.credential("smtp.oauth2.client_secret", Self.secret)
            lines = Self.microsoftLines(setup)
        case "google":
            control = ["clients": [Self.clientID: Self.secret], "scope": "https://mail.google.com/",
                       "refresh_tokens": [Self.refreshToken], "style": "google"]
            setup = try Setup(control: control, style: "google")
            setup.credential("smtp.oauth2.client_secret", Self.secret)
            setup.credential("smtp.oauth2.refresh_token", Self.refreshToken)
            lines = ["provider: google", "client_id: \(Self.clientID)", "token_url: \(setup.endpoint.url("/token"))"]
        default:
            control = ["clients": [Self.clientID: Self.secret], "scope": "smtp.send", "path": "/idp/token"]
            setup = try Setup(control: control)
            setup.credential("smtp.oauth2.client_secret", Self.secret)
            lines = ["provider: generic", "client_id: \(Self.clientID)", "token_url: \(setup.endpoint.url("/idp/token"))",
                     "scope: smtp.send"]
        }
        let daemon = setup.daemon(lines)
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(1))
        #expect(await eventually { setup.server.received().count == 1 }, "\(daemon.logText)\n\(setup.endpoint.requests)")
        #expect(setup.server.received().first?.authenticated == true)
        #expect(setup.server.received().first?.tls == true)
        #expect(setup.said.contains("AUTH XOAUTH2"), "\(setup.said)")
        #expect(setup.said.contains("XOAUTH2 ok"), "\(setup.said)")
        let grant = provider == "google" ? "refresh_token" : "client_credentials"
        #expect(setup.endpoint.requests == ["\(grant) \(Self.clientID) -> ok"], "\(setup.endpoint.requests)")
        #expect(await eventually { states(daemon) == ["sent"] })
        daemon.terminate()
    }

    // MARK: Lifecycle

    @Test("A token expiring mid-run is renewed before it lapses: no message is deferred, the server refuses nothing")
    func expiryMidRun() async throws {
        let setup = try Setup(control: Self.microsoftControl(expiresIn: 4))
        setup.credential("smtp.oauth2.client_secret", Self.secret)
        let daemon = setup.daemon(Self.microsoftLines(setup))
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(1))
        #expect(await eventually { states(daemon) == ["sent"] }, "\(daemon.logText)")
        // Wait until the first token has expired at the server (its clock, its file).
        let first = try #require(setup.endpoint.issuedTokens.first)
        let expired = await eventually(timeout: .seconds(20)) {
            guard let data = FileManager.default.contents(atPath: setup.endpoint.tokens),
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: [String: Any]],
                let expiresAt = object[first]?["expires_at"] as? Double
            else { return false }
            return Date().timeIntervalSince1970 > expiresAt + 0.2
        }
        #expect(expired)
        try daemon.drop("2.eml", Self.message(2))
        #expect(await eventually { states(daemon) == ["sent", "sent"] }, "\(daemon.logText)")
        let attempts = ((try? daemon.list()) ?? []).compactMap { $0["attempts"] as? Int }
        #expect(attempts == [1, 1], "neither message was deferred: \(attempts)")
        #expect(setup.endpoint.requests.count == 2, "\(setup.endpoint.requests)")
        #expect(setup.said.filter { $0.hasPrefix("XOAUTH2") } == ["XOAUTH2 ok", "XOAUTH2 ok"], "\(setup.said)")
        daemon.terminate()
    }

    @Test("A token the server stops accepting (Google: 334 + error JSON, then 535) is replaced once, and the mail still goes out on the first attempt")
    func refusedTokenRefreshedOnce() async throws {
        let control: [String: Any] = [
            "clients": [Self.clientID: Self.secret], "scope": "https://mail.google.com/",
            "refresh_tokens": [Self.refreshToken], "style": "google",
        ]
        let setup = try Setup(control: control, style: "google")
        setup.credential("smtp.oauth2.client_secret", Self.secret)
        setup.credential("smtp.oauth2.refresh_token", Self.refreshToken)
        let daemon = setup.daemon(["provider: google", "client_id: \(Self.clientID)", "token_url: \(setup.endpoint.url("/token"))"])
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(1))
        #expect(await eventually { states(daemon) == ["sent"] }, "\(daemon.logText)")
        // The provider revokes every token it issued (the cached one has an hour left), and the
        // server restarts, so the next message needs a new login.
        FileManager.default.createFile(atPath: setup.endpoint.tokens, contents: Data("{}".utf8))
        setup.server.stop()
        try setup.server.start(port: setup.server.port)
        try daemon.drop("2.eml", Self.message(2))
        #expect(await eventually { states(daemon) == ["sent", "sent"] }, "\(daemon.logText)")
        let attempts = ((try? daemon.list()) ?? []).compactMap { $0["attempts"] as? Int }
        #expect(attempts == [1, 1], "the refusal cost no deferral: \(attempts)")
        #expect(setup.said.filter { $0.hasPrefix("XOAUTH2") } == ["XOAUTH2 ok", "XOAUTH2 unknown-token", "XOAUTH2 ok"], "\(setup.said)")
        #expect(setup.endpoint.requests.count == 2, "\(setup.endpoint.requests)")
        daemon.terminate()
    }

    @Test("A server that does not offer XOAUTH2: a settings problem saying so, and no second token request")
    func serverWithoutXOAUTH2() async throws {
        let setup = try Setup(control: Self.microsoftControl())
        setup.credential("smtp.oauth2.client_secret", Self.secret)
        let plain = try SMTPTestServer(arguments: setup.ca.serverArguments + ["--auth-user", Self.mailbox, "--auth-password", "pw"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: setup.smtp(Self.microsoftLines(setup)).map {
            $0 == "port: \(setup.server.port)" ? "port: \(plain.port)" : $0
        })
        daemon.environment = ["CREDENTIALS_DIRECTORY": setup.credentials]
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(1))
        #expect(await eventually { states(daemon) == ["deferred"] }, "\(daemon.logText)")
        let error = (try? daemon.list().first?["last_error"] as? String) ?? ""
        #expect(error.contains("does not offer AUTH XOAUTH2"), "\(error)")
        #expect(setup.endpoint.requests.count == 1, "\(setup.endpoint.requests)")
        #expect(plain.received().isEmpty)
        daemon.terminate()
    }

    @Test("A burst through 4 workers makes one token request, not four")
    func burstOneRequest() async throws {
        let setup = try Setup(control: Self.microsoftControl())
        setup.credential("smtp.oauth2.client_secret", Self.secret)
        let daemon = setup.daemon(Self.microsoftLines(setup), extra: "delivery:\n  workers: 4\n")
        try await daemon.start()
        for n in 1...12 { try daemon.drop("\(n).eml", Self.message(n)) }
        #expect(await eventually { setup.server.received().count == 12 }, "\(daemon.logText)")
        // Real concurrency: more than one connection logged in with the token.
        #expect(setup.said.filter { $0 == "XOAUTH2 ok" }.count >= 2, "\(setup.said)")
        #expect(setup.endpoint.requests == ["client_credentials \(Self.clientID) -> ok"], "\(setup.endpoint.requests)")
        daemon.terminate()
    }

    @Test("A revoked (expired) secret keeps mail queued; STATUS, list and check-config name smtp.oauth2.client_secret and quote AADSTS7000222; fixed + SIGHUP → delivered")
    func revokedSecret() async throws {
        var control = Self.microsoftControl()
        control["clients"] = [Self.clientID: "SECRET-renewed-Bv5Hn0Qe"]
        control["expired_secret"] = true
        let setup = try Setup(control: control)
        setup.credential("smtp.oauth2.client_secret", Self.secret)
        let notify = try NotifySocket(path: setup.scratch.file("notify"))
        let daemon = setup.daemon(Self.microsoftLines(setup), extra: "delivery:\n  first_retry: 1s\n  max_retry_delay: 2s\n")
        try await daemon.start(notify: notify)
        try daemon.drop("1.eml", Self.message(1))
        #expect(await eventually { states(daemon) == ["deferred"] }, "\(daemon.logText)")
        let error = (try? daemon.list().first?["last_error"] as? String) ?? ""
        #expect(error.contains("smtp.oauth2.client_secret"), "\(error)")
        #expect(error.contains("invalid_client: AADSTS7000222"), "\(error)")
        #expect(await eventually { notify.statuses.contains { $0.contains("delivery failing: OAuth2") && $0.contains("smtp.oauth2.client_secret") } },
                "\(notify.statuses)")
        #expect(setup.server.received().isEmpty)
        #expect(!setup.said.contains { $0.hasPrefix("AUTH") }, "no login attempted without a token: \(setup.said)")

        let check = try setup.outbox(daemon, ["check-config"])
        #expect(check.status == 78, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("FAIL OAuth2 token refused: invalid_client: AADSTS7000222"), "\(check.stdout)")
        #expect(check.stdout.contains("fix: check smtp.oauth2.client_secret"), "\(check.stdout)")

        setup.credential("smtp.oauth2.client_secret", "SECRET-renewed-Bv5Hn0Qe")
        daemon.process?.signal(SIGHUP)
        #expect(await eventually { setup.server.received().count == 1 }, "\(daemon.logText)")
        #expect(await eventually { states(daemon) == ["sent"] }, "\(daemon.logText)")
        daemon.terminate()
        for text in [daemon.logText, check.stdout, check.stderr, notify.statuses.joined(separator: "\n")] {
            #expect(!text.contains(Self.secret) && !text.contains("SECRET-renewed"), "a secret leaked: \(text)")
        }
    }

    @Test("check-config shows an OAuth2 token step before AUTH (expiry and scope, never the token) and logs in with it")
    func checkConfigPasses() async throws {
        let setup = try Setup(control: Self.microsoftControl())
        setup.credential("smtp.oauth2.client_secret", Self.secret)
        let daemon = setup.daemon(Self.microsoftLines(setup))
        let check = try setup.outbox(daemon, ["check-config"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let steps = check.stdout.split(separator: "\n").map { String($0.dropFirst(5).prefix(while: { $0 != " " })) }
        #expect(steps == ["config", "DNS", "TCP", "greeting", "EHLO", "STARTTLS", "certificate", "OAuth2", "AUTH", "ready"],
                "\(check.stdout)")
        #expect(check.stdout.contains("ok   OAuth2 token client_credentials grant from https://127.0.0.1:"), "\(check.stdout)")
        #expect(check.stdout.contains("valid for 59 min, scope https://outlook.office365.com/.default")
                || check.stdout.contains("valid for 60 min, scope https://outlook.office365.com/.default"), "\(check.stdout)")
        #expect(setup.said.contains("XOAUTH2 ok"), "\(setup.said)")
        let token = try #require(setup.endpoint.issuedTokens.first)
        #expect(!check.stdout.contains(token) && !check.stdout.contains(Self.secret))
    }

    @Test("A rotated refresh token is kept (0600) and survives a restart; no secret or token appears in any log, STATUS, CLI output or file")
    func rotationAndSecrecy() async throws {
        let control: [String: Any] = [
            "clients": [Self.clientID: Self.secret], "scope": "https://mail.google.com/",
            "refresh_tokens": [Self.refreshToken], "style": "google", "rotate": true,
        ]
        let setup = try Setup(control: control, style: "google")
        setup.credential("smtp.oauth2.client_secret", Self.secret)
        setup.credential("smtp.oauth2.refresh_token", Self.refreshToken)
        let lines = ["provider: google", "client_id: \(Self.clientID)", "token_url: \(setup.endpoint.url("/token"))"]
        let notify = try NotifySocket(path: setup.scratch.file("notify"))
        let daemon = setup.daemon(lines, extra: "log:\n  level: trace\n")
        try await daemon.start(notify: notify)
        try daemon.drop("1.eml", Self.message(1))
        #expect(await eventually { states(daemon) == ["sent"] }, "\(daemon.logText)")
        #expect(daemon.terminate() == 0)

        let stateFile = daemon.scratch.file("oauth2-refresh-token")
        let attributes = try FileManager.default.attributesOfItem(atPath: stateFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        // The configured refresh token is now revoked at the endpoint: only the rotated one works.
        try await daemon.start(notify: notify)
        try daemon.drop("2.eml", Self.message(2))
        #expect(await eventually { states(daemon) == ["sent", "sent"] }, "\(daemon.logText)\n\(setup.endpoint.requests)")
        #expect(setup.endpoint.requests == ["refresh_token \(Self.clientID) -> ok rotated", "refresh_token \(Self.clientID) -> ok rotated"],
                "\(setup.endpoint.requests)")

        // Everything a user or a test run leaves behind: no secret, no token.
        var outputs: [String] = [daemon.logText, notify.statuses.joined(separator: "\n")]
        let list = try setup.outbox(daemon, ["list", "--json"])
        outputs += [list.stdout, list.stderr]
        for entry in try daemon.list() {
            if let id = entry["queue_id"] as? String {
                let show = try setup.outbox(daemon, ["show", id])
                outputs += [show.stdout, show.stderr]
            }
        }
        let check = try setup.outbox(daemon, ["check-config"])
        #expect(check.status == 0, "\(check.stdout)")
        outputs += [check.stdout, check.stderr]
        daemon.terminate()
        let rotated = try String(contentsOfFile: stateFile, encoding: .utf8).split(separator: " ").last.map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        } ?? ""
        #expect(rotated.hasPrefix("rt-rotated-"))
        let secrets = [Self.secret, Self.refreshToken, rotated] + setup.endpoint.issuedTokens
        #expect(secrets.count >= 5)
        // Every file outboxd and the SMTP server wrote (not the credentials, the token endpoint's
        // own books, or the state file whose job is to hold the rotated token).
        let exempt: Set<String> = [stateFile, setup.endpoint.tokens, setup.endpoint.log, setup.endpoint.control]
        for root in [daemon.scratch.path, setup.scratch.path] {
            for case let name as String in FileManager.default.enumerator(atPath: root)! {
                let path = root + "/" + name
                guard !exempt.contains(path), !path.hasPrefix(setup.credentials),
                    let data = FileManager.default.contents(atPath: path)
                else { continue }
                outputs.append(String(decoding: data, as: UTF8.self))
            }
        }
        for secret in secrets {
            #expect(!outputs.contains { $0.contains(secret) }, "\(secret.prefix(6))… appears in a log, output or file")
        }
    }
}

@Suite("smtp.from_policy against a relay that enforces the sender", .serialized, .timeLimit(.minutes(2)))
struct FromPolicyTests {
    @Test("keep: 5.7.60 is a settings problem naming smtp.from_policy, mail stays queued; rewrite + SIGHUP: sent as the mailbox, author kept")
    func enforcedSender() async throws {
        let mailbox = "xnat-mailer@example.org"
        let server = try SMTPTestServer(arguments: ["--require-from", mailbox])
        let daemon = DaemonUnderTest()
        let smtp = ["host: 127.0.0.1", "port: \(server.port)", "from: \(mailbox)"]
        let delivery = "delivery:\n  first_retry: 1s\n  max_retry_delay: 2s\n"
        daemon.configure(smtp: smtp, extra: delivery)
        try await daemon.start()
        try daemon.drop("1.eml", "From: Alice Example <alice@xnat.example.org>\nTo: bob@example.org\nSubject: aligned\n\nhi\n")
        func entry() -> [String: Any]? { (try? daemon.list())?.first }
        #expect(await eventually { entry()?["state"] as? String == "deferred" }, "\(daemon.logText)")
        let error = entry()?["last_error"] as? String ?? ""
        #expect(error.hasPrefix("550 5.7.60 "), "\(error)")
        #expect(error.contains("smtp.from_policy: rewrite"), "\(error)")
        #expect(daemon.logText.contains("Delivery failing because of the SMTP settings"), "\(daemon.logText)")

        daemon.configure(smtp: smtp + ["from_policy: rewrite"], extra: delivery)
        daemon.process?.signal(SIGHUP)
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        let received = try #require(server.received().first)
        #expect(received.mail_from == mailbox)
        #expect(received.data.contains("From: Alice Example via XNAT <\(mailbox)>\r\n"), "\(received.data)")
        #expect(received.data.contains("Reply-To: Alice Example <alice@xnat.example.org>\r\n"), "\(received.data)")
        #expect(await eventually { entry()?["state"] as? String == "sent" })
        // The queue keeps the message as written: `outbox show` prints the original author.
        let id = try #require(entry()?["queue_id"] as? String)
        let show = try run(Paths.outbox, ["show", id, "--config", daemon.configPath])
        #expect(show.stdout.contains("  From: Alice Example <alice@xnat.example.org>\n"), "\(show.stdout)")
        #expect(show.stdout.contains("Sent as:    From: Alice Example via XNAT <\(mailbox)> (smtp.from_policy: rewrite"), "\(show.stdout)")
        daemon.terminate()
    }
}
