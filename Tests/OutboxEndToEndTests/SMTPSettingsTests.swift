import Foundation
import Testing

/// Every XNAT mail setting, end to end: the real outboxd against real SMTP servers on 127.0.0.1
/// (python3-aiosmtpd with STARTTLS, implicit TLS and a real AUTH PLAIN/LOGIN authenticator), with
/// test certificates made by openssl. Each test checks what an admin would check: what the server
/// received and what it saw the client say, and what `outbox list` reports.
@Suite("XNAT mail settings against real servers", .serialized, .timeLimit(.minutes(3)))
struct SMTPSettingsTests {
    static let message = """
        From: XNAT <admin@xnat.example.org>
        To: alice@example.org
        Subject: Settings test

        body

        """

    /// A server with a session log (what the client said), TLS and AUTH as asked.
    final class Peer {
        let scratch = Scratch()
        let server: SMTPTestServer
        var sessionLog: String { scratch.file("session.log") }

        init(_ arguments: [String] = []) throws {
            server = try SMTPTestServer(scratch: scratch, arguments: ["--session-log", scratch.file("session.log")] + arguments)
        }

        var port: Int { server.port }
        /// One line per connection and per EHLO/STARTTLS/AUTH: "connect", "EHLO name", "AUTH PLAIN".
        var said: [String] {
            ((try? String(contentsOfFile: sessionLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
    }

    /// A certificate and key made by openssl, valid for `names` (subjectAltName).
    struct TestCertificate {
        let certificate: String
        let key: String

        init(in scratch: Scratch, names: String = "DNS:localhost,IP:127.0.0.1", commonName: String = "localhost") throws {
            certificate = scratch.file("cert-\(UUID().uuidString).pem")
            key = scratch.file("key-\(UUID().uuidString).pem")
            let result = try run(
                "/usr/bin/openssl",
                ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=\(commonName)",
                 "-addext", "subjectAltName=\(names)"])
            guard result.status == 0 else { throw TestFailure("openssl failed: \(result.stderr)") }
        }

        var serverArguments: [String] { ["--tls-cert", certificate, "--tls-key", key] }
    }

    /// Starts outboxd with these smtp: lines (host and port added), drops one message.
    func send(to peer: Peer, _ smtp: [String], host: String = "127.0.0.1", extra: String = "", message: String = message,
              notify: NotifySocket? = nil) async throws -> DaemonUnderTest
    {
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: \(host)", "port: \(peer.port)"] + smtp, extra: extra)
        try await daemon.start(notify: notify)
        try daemon.drop("1.eml", message)
        return daemon
    }

    func state(_ daemon: DaemonUnderTest) -> String? { try? daemon.list().first?["state"] as? String }

    func lastError(_ daemon: DaemonUnderTest) -> String { (try? daemon.list().first?["last_error"] as? String) ?? "" }

    // MARK: TLS and AUTH

    @Test("start_tls + auth: STARTTLS comes first, then AUTH with the configured mechanism, and the mail arrives",
          arguments: ["PLAIN", "LOGIN"])
    func startTLSAndAuth(mechanism: String) async throws {
        let scratch = Scratch()
        let cert = try TestCertificate(in: scratch)
        let peer = try Peer(cert.serverArguments + ["--auth-user", "xnat", "--auth-password", "s3cret-pw"])
        let daemon = try await send(to: peer, [
            "auth: true", "start_tls: true", "username: xnat", "password: s3cret-pw", "ssl_trust: 127.0.0.1",
            "auth_mechanisms: \(mechanism)",
        ])
        #expect(await eventually { peer.server.received().count == 1 }, "\(daemon.logText)")
        let received = try #require(peer.server.received().first)
        #expect(received.authenticated == true)
        #expect(received.tls == true)
        let verbs = peer.said.map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(Array(verbs.prefix(5)) == ["connect", "EHLO", "STARTTLS", "EHLO", "AUTH"], "\(peer.said)")
        #expect(peer.said.count >= 5 && peer.said[4] == "AUTH \(mechanism)", "\(peer.said)")
        #expect(await eventually { state(daemon) == "sent" })
        daemon.terminate()
        #expect(!daemon.logText.contains("s3cret-pw"), "the password never appears in the log")
        #expect(daemon.logText.contains("TLS certificates are not verified"), "relaxed trust is warned about")
    }

    @Test("protocol smtps: implicit TLS on connect, no STARTTLS")
    func implicitTLS() async throws {
        let scratch = Scratch()
        let cert = try TestCertificate(in: scratch)
        let peer = try Peer(cert.serverArguments + ["--implicit-tls", "--auth-user", "xnat", "--auth-password", "pw"])
        let daemon = try await send(to: peer, [
            "protocol: smtps", "auth: true", "username: xnat", "password: pw", "ssl_trust: \"*\"",
        ])
        #expect(await eventually { peer.server.received().count == 1 }, "\(daemon.logText)")
        #expect(peer.server.received().first?.tls == true)
        #expect(peer.server.received().first?.authenticated == true)
        #expect(!peer.said.contains("STARTTLS"))
        daemon.terminate()
    }

    @Test("auth false: no AUTH is sent even with a username and password filled in")
    func authFalseSendsNoAuth() async throws {
        let peer = try Peer()
        let daemon = try await send(to: peer, ["auth: false", "username: xnat", "password: pw"])
        #expect(await eventually { peer.server.received().count == 1 }, "\(daemon.logText)")
        #expect(peer.server.received().first?.authenticated == false)
        #expect(!peer.said.contains { $0.hasPrefix("AUTH") }, "\(peer.said)")
        daemon.terminate()
    }

    @Test("A wrong password defers the mail with the server's 535, names smtp.username / smtp.password, and shows in the status")
    func wrongPassword() async throws {
        let peer = try Peer(["--auth-user", "xnat", "--auth-password", "right"])
        let notify = try NotifySocket(path: peer.scratch.file("notify"))
        let daemon = try await send(to: peer, ["auth: true", "username: xnat", "password: wrong-pw-123"], notify: notify)
        #expect(await eventually { state(daemon) == "deferred" }, "\(daemon.logText)")
        let error = lastError(daemon)
        #expect(error.hasPrefix("authentication failed (535 "), "\(error)")
        #expect(error.hasSuffix("— check smtp.username / smtp.password"), "\(error)")
        #expect(peer.server.received().isEmpty)
        // Shouted about where an admin looks: the status line and an error in the log.
        #expect(await eventually { notify.statuses.contains { $0.hasPrefix("delivery failing: authentication failed (535 ") } },
                "\(notify.statuses)")
        daemon.terminate()
        #expect(daemon.logText.contains("error outboxd"), "\(daemon.logText)")
        #expect(!notify.statuses.contains { $0.contains("wrong-pw-123") })
        #expect(!daemon.logText.contains("wrong-pw-123"))
        #expect(!error.contains("wrong-pw-123"))
    }

    @Test("start_tls true against a server without STARTTLS: nothing is sent and the password never crosses in clear")
    func startTLSRequired() async throws {
        let peer = try Peer(["--auth-user", "xnat", "--auth-password", "pw"])
        let daemon = try await send(to: peer, ["auth: true", "start_tls: true", "username: xnat", "password: pw"])
        #expect(await eventually { state(daemon) == "deferred" }, "\(daemon.logText)")
        #expect(lastError(daemon).contains("does not offer STARTTLS"), "\(lastError(daemon))")
        #expect(lastError(daemon).contains("smtp.start_tls"))
        #expect(!peer.said.contains { $0.hasPrefix("AUTH") }, "the server saw no AUTH: \(peer.said)")
        #expect(peer.server.received().isEmpty)
        daemon.terminate()
    }

    @Test("auth false while the server demands AUTH (530): a configuration error naming smtp.auth")
    func serverRequiresAuth() async throws {
        let peer = try Peer(["--auth-user", "xnat", "--auth-password", "pw"])
        let daemon = try await send(to: peer, ["auth: false"])
        #expect(await eventually { state(daemon) == "deferred" }, "\(daemon.logText)")
        #expect(lastError(daemon).hasPrefix("530 "), "\(lastError(daemon))")
        #expect(lastError(daemon).contains("smtp.auth: true"))
        daemon.terminate()
        #expect(daemon.logText.contains("Delivery failing because of the SMTP settings"))
    }

    // MARK: ssl_trust and certificate verification

    @Test("ssl_trust \"\" verifies certificates: a self-signed server is refused with a message naming ssl_trust")
    func selfSignedRefused() async throws {
        let scratch = Scratch()
        let cert = try TestCertificate(in: scratch)
        let peer = try Peer(cert.serverArguments)
        let daemon = try await send(to: peer, ["start_tls: true", "ssl_trust: \"\""])
        #expect(await eventually { state(daemon) == "deferred" }, "\(daemon.logText)")
        #expect(lastError(daemon).contains("smtp.ssl_trust"), "\(lastError(daemon))")
        #expect(lastError(daemon).contains("curl error 60"), "\(lastError(daemon))")
        #expect(peer.server.received().isEmpty)
        daemon.terminate()
    }

    @Test("ssl_trust lists hosts: trusted when the configured host matches an entry, verified otherwise",
          arguments: [
            ("127.0.0.1", "\"*\"", true), ("127.0.0.1", "\"mail.example.org 127.0.0.1\"", true),
            ("localhost", "\"mail.example.org LOCALHOST\"", true), ("localhost", "\"127.0.0.1 other.example.org\"", false),
          ])
    func sslTrustList(host: String, trust: String, accepted: Bool) async throws {
        let scratch = Scratch()
        let cert = try TestCertificate(in: scratch)
        let peer = try Peer(cert.serverArguments)
        let daemon = try await send(to: peer, ["start_tls: true", "ssl_trust: \(trust)"], host: host)
        if accepted {
            #expect(await eventually { peer.server.received().count == 1 }, "\(daemon.logText)")
            #expect(peer.server.received().first?.tls == true)
        } else {
            #expect(await eventually { state(daemon) == "deferred" }, "\(daemon.logText)")
            #expect(lastError(daemon).contains("smtp.ssl_trust"))
            #expect(peer.server.received().isEmpty)
        }
        daemon.terminate()
    }

    @Test("Connecting by IP to a certificate that does not name it: the error names the certificate's names and ssl_trust")
    func hostNameMismatch() async throws {
        let scratch = Scratch()
        let cert = try TestCertificate(in: scratch, names: "DNS:localhost,DNS:mail.localhost")
        let peer = try Peer(cert.serverArguments)
        // The certificate is trusted (ca_file), so only the name can be wrong.
        let daemon = try await send(to: peer, ["start_tls: true", "ca_file: \(cert.certificate)"])
        #expect(await eventually { state(daemon) == "deferred" }, "\(daemon.logText)")
        let error = lastError(daemon)
        #expect(error.contains("DNS:localhost, DNS:mail.localhost"), "\(error)")
        #expect(error.contains("127.0.0.1"), "\(error)")
        #expect(error.contains("smtp.ssl_trust"), "\(error)")
        daemon.terminate()

        // The same certificate by its name is fine: the refusal above was about the name.
        let byName = try await send(to: peer, ["start_tls: true", "ca_file: \(cert.certificate)"], host: "localhost")
        #expect(await eventually { peer.server.received().count == 1 }, "\(byName.logText)")
        byName.terminate()
    }

    // MARK: Prefix, sender, EHLO

    @Test("email_prefix is applied once, even when the message is retried")
    func prefixNeverTwice() async throws {
        let peer = try Peer(["--fail-data", "451"])
        let daemon = try await send(to: peer, ["email_prefix: XNAT"],
                                    extra: "delivery:\n  first_retry: 1s\n  max_retry_delay: 1s\n")
        #expect(await eventually { ((try? daemon.list().first?["attempts"] as? Int) ?? 0) >= 2 }, "\(daemon.logText)")
        #expect(state(daemon) == "deferred")
        #expect(lastError(daemon).hasPrefix("451 "), "\(lastError(daemon))")
        peer.server.stop()
        peer.server.arguments = ["--session-log", peer.sessionLog]
        try peer.server.start(port: peer.port)
        #expect(await eventually { peer.server.received().count == 1 }, "\(daemon.logText)")
        let data = try #require(peer.server.received().first?.data)
        #expect(data.contains("Subject: [XNAT] Settings test\r\n"), "\(data)")
        #expect(data.components(separatedBy: "[XNAT]").count == 2)
        daemon.terminate()
    }

    @Test("envelope_from sets MAIL FROM only (the header From stays); ehlo_name is the EHLO name")
    func envelopeFromAndEHLOName() async throws {
        let peer = try Peer()
        let daemon = try await send(to: peer, ["envelope_from: bounces@relay.example.org", "ehlo_name: xnat.example.org"])
        #expect(await eventually { peer.server.received().count == 1 }, "\(daemon.logText)")
        let received = try #require(peer.server.received().first)
        #expect(received.mail_from == "bounces@relay.example.org")
        #expect(received.data.hasPrefix("From: XNAT <admin@xnat.example.org>\r\n"))
        #expect(peer.said.contains("EHLO xnat.example.org"), "\(peer.said)")
        daemon.terminate()
    }

    // MARK: enabled

    @Test("enabled false: nothing is sent, mail stays queued, status says held; restarted with true, it drains")
    func disabledThenEnabled() async throws {
        let peer = try Peer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false", "host: 127.0.0.1", "port: \(peer.port)"])
        try await daemon.start()
        try daemon.drop("1.eml", Self.message)
        try daemon.drop("2.eml", Self.message.replacingOccurrences(of: "alice@", with: "bob@"))
        #expect(await eventually { ((try? daemon.list()) ?? []).count == 2 }, "\(daemon.logText)")
        // What `systemctl status` shows (outboxd reports to the test's stand-in notify socket): the
        // daemon has seen both messages and decided to hold them.
        let notify = try #require(daemon.notify)
        #expect(await eventually { notify.statuses.contains("SMTP disabled · 2 held") }, "\(notify.statuses)")
        #expect(try daemon.list().allSatisfy { $0["state"] as? String == "queued" })
        #expect(peer.server.received().isEmpty)
        #expect(peer.said.isEmpty, "no connection at all while disabled")
        #expect(daemon.logText.contains("SMTP disabled"))
        #expect(daemon.terminate() == 0)
        #expect(peer.server.received().isEmpty)

        daemon.configure(smtp: ["enabled: true", "host: 127.0.0.1", "port: \(peer.port)"])
        try await daemon.start()
        #expect(await eventually { peer.server.received().count == 2 }, "\(daemon.logText)")
        #expect(await eventually { (try? daemon.list().allSatisfy { $0["state"] as? String == "sent" }) == true })
        daemon.terminate()
    }
}
