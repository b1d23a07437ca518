import Foundation
import Testing

/// The real `outbox` binary acting on a queue filled and served by the real `outboxd`, with real
/// SMTP servers on 127.0.0.1.
@Suite("outbox CLI end to end", .serialized, .timeLimit(.minutes(3)))
struct CLITests {
    /// Runs `outbox ARGS --config <daemon's config>`.
    static func outbox(_ daemon: DaemonUnderTest, _ arguments: [String], stdin: String? = nil) throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        try run(Paths.outbox, arguments + ["--config", daemon.configPath], stdin: stdin)
    }

    static func message(to recipient: String, subject: String) -> String {
        "From: XNAT <admin@xnat.example.org>\nTo: \(recipient)\nSubject: \(subject)\n\nHello \(recipient)\n"
    }

    /// The list entry for `recipient` (each test message has one recipient).
    static func entry(_ daemon: DaemonUnderTest, recipient: String) -> [String: Any]? {
        (try? daemon.list())?.first { entry in
            ((entry["recipients"] as? [[String: Any]]) ?? []).contains { $0["address"] as? String == recipient }
        }
    }

    static func state(_ daemon: DaemonUnderTest, recipient: String) -> String? {
        entry(daemon, recipient: recipient)?["state"] as? String
    }

    static func id(_ daemon: DaemonUnderTest, recipient: String) throws -> String {
        try #require(entry(daemon, recipient: recipient)?["queue_id"] as? String)
    }

    @Test("A hold before the daemon claims a message prevents its send; release sends it within seconds while outboxd runs")
    func holdBeforeClaimAndRelease() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false", "host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "alice@example.org", subject: "held"))
        #expect(await eventually { Self.state(daemon, recipient: "alice@example.org") == "queued" }, "\(daemon.logText)")
        let id = try Self.id(daemon, recipient: "alice@example.org")

        let hold = try Self.outbox(daemon, ["hold", id])
        #expect(hold.status == 0, "\(hold.stderr)")
        #expect(hold.stdout == "held 1 message\n")
        #expect(hold.stderr.isEmpty)

        daemon.terminate()
        daemon.configure(smtp: ["enabled: true", "host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        // A message queued after the restart goes out; the held one, due since before it, must not.
        try daemon.drop("2.eml", Self.message(to: "carol@example.org", subject: "not held"))
        #expect(await eventually { Self.state(daemon, recipient: "carol@example.org") == "sent" }, "\(daemon.logText)")
        #expect(server.received().map(\.rcpt_tos) == [["carol@example.org"]], "a held message must never be sent")
        #expect(Self.state(daemon, recipient: "alice@example.org") == "held")

        // Nothing is due, so the dispatcher's own poll is 30 s away: only the change watcher can
        // make the release effective within this (generous) bound.
        let release = try Self.outbox(daemon, ["release", id])
        #expect(release.status == 0, "\(release.stderr)")
        #expect(release.stdout == "released 1 message\n")
        #expect(await eventually(timeout: .seconds(15)) { server.received().count == 2 }, "\(daemon.logText)")
        #expect(server.received().last?.rcpt_tos == ["alice@example.org"])
        #expect(await eventually { Self.state(daemon, recipient: "alice@example.org") == "sent" })
        #expect(daemon.terminate() == 0)
    }

    @Test("Hold and delete of a message being sent report it in flight (exit 75) and it is still sent exactly once")
    func holdRacingSend() async throws {
        let server = try SMTPTestServer(arguments: ["--data-delay", "4"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "bob@example.org", subject: "slow"))
        #expect(await eventually { Self.entry(daemon, recipient: "bob@example.org")?["in_flight"] as? Bool == true },
                "\(daemon.logText)")
        let id = try Self.id(daemon, recipient: "bob@example.org")

        let hold = try Self.outbox(daemon, ["hold", id])
        #expect(hold.status == 75)
        #expect(hold.stdout == "held 0 messages\n")
        #expect(hold.stderr.hasPrefix("outbox: 1 message in flight, not held"), "\(hold.stderr)")
        #expect(hold.stderr.hasSuffix(": \(id)\n"))
        #expect(hold.stderr.split(separator: "\n").count == 1)

        let delete = try Self.outbox(daemon, ["delete", "--yes", id])
        #expect(delete.status == 75)
        #expect(delete.stderr.contains("in flight"), "\(delete.stderr)")

        #expect(await eventually { Self.state(daemon, recipient: "bob@example.org") == "sent" }, "\(daemon.logText)")
        // A later message is the sign that the workers moved on: bob's went out once, before it.
        try daemon.drop("2.eml", Self.message(to: "dave@example.org", subject: "after"))
        #expect(await eventually { Self.state(daemon, recipient: "dave@example.org") == "sent" }, "\(daemon.logText)")
        #expect(server.received().map(\.rcpt_tos) == [["bob@example.org"], ["dave@example.org"]])
        #expect(Self.entry(daemon, recipient: "bob@example.org")?["attempts"] as? Int == 1)

        let late = try Self.outbox(daemon, ["hold", id])
        #expect(late.status == 65, "a sent message cannot be held")
        #expect(late.stderr == "outbox: 1 message not held: only queued or deferred messages can be: \(id) (sent)\n")
        daemon.terminate()
    }

    @Test("retry and flush make deferred messages due at once; each is delivered once")
    func retryAndFlush() async throws {
        let server = try SMTPTestServer()
        let port = server.port
        server.stop()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(port)"],
                         extra: "delivery:\n  first_retry: 1h\n  max_retry_delay: 2h\n")
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "carol@example.org", subject: "retry me"))
        try daemon.drop("2.eml", Self.message(to: "dave@example.org", subject: "flush me"))
        #expect(await eventually {
            Self.state(daemon, recipient: "carol@example.org") == "deferred" && Self.state(daemon, recipient: "dave@example.org") == "deferred"
        }, "\(daemon.logText)")
        let carol = try Self.id(daemon, recipient: "carol@example.org")

        try server.start(port: port)
        let retry = try Self.outbox(daemon, ["retry", carol])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(retry.stdout == "retried 1 message\n")
        #expect(await eventually(timeout: .seconds(15)) { Self.state(daemon, recipient: "carol@example.org") == "sent" },
                "\(daemon.logText)")
        #expect(Self.state(daemon, recipient: "dave@example.org") == "deferred", "retry touches only the given id")

        let flush = try Self.outbox(daemon, ["flush"])
        #expect(flush.status == 0, "\(flush.stderr)")
        #expect(flush.stdout == "flushed 1 message\n")
        #expect(await eventually(timeout: .seconds(15)) { Self.state(daemon, recipient: "dave@example.org") == "sent" },
                "\(daemon.logText)")
        #expect(server.received().count == 2)
        #expect(Set(server.received().flatMap(\.rcpt_tos)) == ["carol@example.org", "dave@example.org"])
        daemon.terminate()
    }

    @Test("A failed message shows its 550 in show and stats; requeue resets its attempts and it is delivered")
    func showStatsRequeue() async throws {
        let rejecting = try SMTPTestServer(arguments: ["--reject-rcpt", "erin@example.org=550"])
        let port = rejecting.port
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(port)"])
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "erin@example.org", subject: "Password reset request"))
        #expect(await eventually { Self.state(daemon, recipient: "erin@example.org") == "failed" }, "\(daemon.logText)")
        let id = try Self.id(daemon, recipient: "erin@example.org")

        let show = try Self.outbox(daemon, ["show", id])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.hasPrefix("Queue ID:   \(id)\nState:      failed "), "\(show.stdout)")
        #expect(show.stdout.contains("Sender:     admin@xnat.example.org\n"))
        #expect(show.stdout.contains("  Subject: Password reset request\n"))
        #expect(show.stdout.contains("\nRecipients:\n  erin@example.org  failed  "))
        #expect(show.stdout.contains("  1. "))
        #expect(show.stdout.contains("permanent"))
        #expect(show.stdout.contains("550"), "the server's reply is in the attempt history")

        let body = try Self.outbox(daemon, ["show", id, "--body"])
        #expect(body.status == 0)
        #expect(body.stdout.hasPrefix("From: XNAT <admin@xnat.example.org>\r\n"))
        #expect(body.stdout.hasSuffix("\r\n\r\nHello erin@example.org\r\n"))

        let stats = try Self.outbox(daemon, ["stats", "--json"])
        #expect(stats.status == 0, "\(stats.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        let counts = try #require(object["counts"] as? [String: Int])
        #expect(counts == ["queued": 0, "deferred": 0, "held": 0, "sent": 0, "failed": 1])
        #expect(object["failed_last_hour"] as? Int == 1)
        #expect(object["failed_last_day"] as? Int == 1)
        #expect(object["sent_last_day"] as? Int == 0)
        #expect(object["oldest_waiting_time"] is NSNull)
        let generated = try #require(object["generated_at"] as? String)
        #expect(ISO8601DateFormatter().date(from: generated) != nil)
        let reasons = try #require(object["top_failure_reasons"] as? [[String: Any]])
        #expect(reasons.count == 1)
        #expect(reasons.first?["count"] as? Int == 1)
        #expect((reasons.first?["reason"] as? String)?.contains("550") == true, "\(reasons)")

        let text = try Self.outbox(daemon, ["stats"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("failed          1\n"), "\(text.stdout)")
        #expect(text.stdout.contains("Top failure reasons (last day):\n  1  "))

        rejecting.stop()
        let accepting = try SMTPTestServer(port: port)
        let requeue = try Self.outbox(daemon, ["requeue", id])
        #expect(requeue.status == 0, "\(requeue.stderr)")
        #expect(requeue.stdout == "requeued 1 message\n")
        #expect(await eventually(timeout: .seconds(15)) { Self.state(daemon, recipient: "erin@example.org") == "sent" },
                "\(daemon.logText)")
        let entry = try #require(Self.entry(daemon, recipient: "erin@example.org"))
        #expect(entry["attempts"] as? Int == 1, "attempts were reset to 0, then one successful attempt")
        #expect((entry["recipients"] as? [[String: Any]])?.first?["state"] as? String == "sent")
        #expect(accepting.received().count == 1)
        let history = try Self.outbox(daemon, ["show", id])
        #expect(history.stdout.contains("  2. "), "the history keeps the failed attempt and adds the new one")
        daemon.terminate()
    }

    @Test("Unknown ids exit 65 with one line; delete asks for --yes off a terminal; ids from stdin, --all with filters, purge")
    func idsSelectionDeleteAndPurge() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        for (index, name) in ["frank", "grace", "heidi"].enumerated() {
            try daemon.drop("\(index).eml", Self.message(to: "\(name)@example.org", subject: "hi \(name)"))
        }
        #expect(await eventually { (try? daemon.list().filter { $0["state"] as? String == "sent" }.count) == 3 },
                "\(daemon.logText)")
        let frank = try Self.id(daemon, recipient: "frank@example.org")

        let unknown = try Self.outbox(daemon, ["show", "FFFFFF"])
        #expect(unknown.status == 65)
        #expect(unknown.stderr == "outbox: no message with queue id 00FFFFFF\n")
        let malformed = try Self.outbox(daemon, ["hold", "not-an-id"])
        #expect(malformed.status == 65)
        #expect(malformed.stderr.split(separator: "\n").count == 1)
        let unknownHold = try Self.outbox(daemon, ["release", "FFFFFF"])
        #expect(unknownHold.status == 65)
        #expect(unknownHold.stdout == "released 0 messages\n")
        #expect(unknownHold.stderr == "outbox: no message with queue id 00FFFFFF\n")

        let both = try Self.outbox(daemon, ["hold", "--all", frank])
        #expect(both.status == 64)
        let filterWithoutAll = try Self.outbox(daemon, ["hold", "--recipient", "frank"])
        #expect(filterWithoutAll.status == 64)
        let nothing = try Self.outbox(daemon, ["hold"])
        #expect(nothing.status == 64)

        let filtered = try Self.outbox(daemon, ["list", "--json", "--recipient", "GRACE@example"])
        #expect(filtered.status == 0)
        let lines = filtered.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        let grace = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect((grace["recipients"] as? [[String: Any]])?.first?["address"] as? String == "grace@example.org")
        #expect(try Self.outbox(daemon, ["list", "--json", "--older-than", "1h"]).stdout.isEmpty)
        #expect(try Self.outbox(daemon, ["list", "--json", "--sender", "xnat.example", "--limit", "2"]).stdout
            .split(separator: "\n").count == 2)

        let unconfirmed = try Self.outbox(daemon, ["delete", frank])
        #expect(unconfirmed.status == 64)
        #expect(unconfirmed.stderr == "outbox: refusing to delete without --yes when stdin is not a terminal\n")
        #expect(Self.entry(daemon, recipient: "frank@example.org") != nil)

        let fromStdin = try Self.outbox(daemon, ["delete", "--yes", "-"], stdin: "\(frank)\n")
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        #expect(fromStdin.stdout == "deleted 1 message\n")
        #expect(Self.entry(daemon, recipient: "frank@example.org") == nil)
        #expect(try Self.outbox(daemon, ["show", frank]).status == 65)

        let all = try Self.outbox(daemon, ["delete", "--yes", "--all", "--recipient", "heidi@"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout == "deleted 1 message\n")

        let young = try Self.outbox(daemon, ["purge", "--state", "sent", "--older-than", "1d"])
        #expect(young.stdout == "purged 0 messages\n")
        let badState = try Self.outbox(daemon, ["purge", "--state", "queued", "--older-than", "1d"])
        #expect(badState.status == 64)
        let purge = try Self.outbox(daemon, ["purge", "--state", "sent", "--older-than", "0s"])
        #expect(purge.status == 0, "\(purge.stderr)")
        #expect(purge.stdout == "purged 1 message\n")
        #expect(try daemon.list().isEmpty)
        #expect(try Self.outbox(daemon, ["list"]).stdout == "Mail queue is empty\n")
        #expect(server.received().count == 3)
        daemon.terminate()
    }

    @Test("import-xnat prints YAML that outboxd starts with; the password never appears; a missing file exits 66")
    func importXNAT() async throws {
        let scratch = Scratch()
        let initial = scratch.file("prefs-init.ini"), override = scratch.file("prefs-override.ini")
        FileManager.default.createFile(atPath: initial, contents: Data("""
            [siteConfig]
            adminEmail=admin@xnat.example.org
            [notifications]
            hostname=smtp.gmail.com
            username=xnat@gmail.com
            password=s3cret-app-password
            port=587
            protocol=smtp
            smtpAuth=true
            smtpStartTls=true

            """.utf8))
        let server = try SMTPTestServer()
        FileManager.default.createFile(atPath: override, contents: Data(
            "[notifications]\nsmtpHostname=127.0.0.1\nsmtpPort=\(server.port)\nsmtpAuth=false\nsmtpStartTls=false\n".utf8))

        let result = try run(Paths.outbox, ["import-xnat", initial, override])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("s3cret"))
        #expect(result.stdout.contains("/etc/outbox/smtp.password"))

        // The imported settings, plus where this test keeps its state, run the real daemon.
        let daemon = DaemonUnderTest(scratch: scratch)
        FileManager.default.createFile(atPath: daemon.configPath, contents: Data(
            (result.stdout + "queue:\n  database: \(daemon.database)\nspool:\n  directory: \(daemon.spool)\n").utf8))
        try await daemon.start()
        try daemon.drop("1.eml", "To: ivan@example.org\nSubject: imported\n\nx\n")
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        #expect(server.received().first?.mail_from == "admin@xnat.example.org", "adminEmail is the default sender")
        daemon.terminate()

        let missing = try run(Paths.outbox, ["import-xnat", scratch.file("nope.ini")])
        #expect(missing.status == 66)
        #expect(missing.stderr == "outbox: cannot read \(scratch.file("nope.ini")): no such file\n")
    }

    @Test("test-send goes through the spool and reports the server's reply: sent exits 0, deferred exits 75")
    func testSend() async throws {
        let server = try SMTPTestServer()
        let port = server.port
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(port)", "from: xnat@example.org"])
        try await daemon.start()

        let sent = try Self.outbox(daemon, ["test-send", "--to", "judy@example.org", "--timeout", "30s"])
        #expect(sent.status == 0, "\(sent.stderr) \(daemon.logText)")
        let lines = sent.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("queued as ") == true, "\(sent.stdout)")
        #expect(lines.last?.hasPrefix("sent to judy@example.org: 250") == true, "\(sent.stdout)")
        let received = try #require(server.received().first)
        #expect(received.rcpt_tos == ["judy@example.org"])
        #expect(received.mail_from == "xnat@example.org", "smtp.from is the default sender")
        #expect(received.data.contains("Subject: outbox test message\r\n"))

        server.stop()
        let deferred = try Self.outbox(daemon, ["test-send", "--to", "judy@example.org", "--timeout", "30s"])
        #expect(deferred.status == 75)
        #expect(deferred.stderr.hasPrefix("outbox: deferred: "), "\(deferred.stderr)")
        #expect(deferred.stderr.split(separator: "\n").count == 1)

        let invalid = try Self.outbox(daemon, ["test-send", "--to", "not an address"])
        #expect(invalid.status == 64)
        daemon.terminate()
    }

    /// Runs `outbox check-config` on a configuration with these `smtp:` lines.
    static func checkConfig(_ smtp: [String]) throws -> (status: Int32, stdout: String, stderr: String, lines: [String]) {
        let scratch = Scratch()
        let path = scratch.file("outbox.yaml")
        FileManager.default.createFile(atPath: path, contents: Data(("smtp:\n" + smtp.map { "  \($0)\n" }.joined()).utf8), attributes: [.posixPermissions: 0o600])
        let result = try run(Paths.outbox, ["check-config", "--config", path], environment: [:])
        return (result.status, result.stdout, result.stderr, result.stdout.split(separator: "\n").map(String.init))
    }

    @Test("check-config walks DNS, TCP, greeting, EHLO and AUTH without sending mail; exit 0 only when all pass")
    func checkConfigPasses() throws {
        let server = try SMTPTestServer(arguments: ["--auth-user", "xnat", "--auth-password", "right-password"])
        let result = try Self.checkConfig(["host: 127.0.0.1", "port: \(server.port)", "auth: true", "username: xnat",
                                           "password: right-password"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let steps = result.lines.map { String($0.dropFirst(5).prefix(while: { $0 != " " })) }
        #expect(steps == ["config", "DNS", "TCP", "greeting", "EHLO", "STARTTLS", "AUTH", "ready"], "\(result.stdout)")
        #expect(result.lines.allSatisfy { $0.hasPrefix("ok   ") || $0.hasPrefix("-    STARTTLS") }, "\(result.stdout)")
        #expect(result.lines.contains { $0.hasPrefix("ok   AUTH        logged in as xnat: 235") })
        #expect(!result.stdout.contains("right-password"))
        #expect(server.received().isEmpty, "check-config never sends mail")
    }

    @Test("check-config names the failing step and the setting to change, with sysexits statuses")
    func checkConfigFailures() throws {
        let closed = try SMTPTestServer()
        let closedPort = closed.port
        closed.stop()
        let refused = try Self.checkConfig(["host: 127.0.0.1", "port: \(closedPort)"])
        #expect(refused.status == 69)
        #expect(refused.lines.last(where: { $0.hasPrefix("FAIL") })?.hasPrefix("FAIL TCP ") == true, "\(refused.stdout)")
        #expect(refused.stdout.contains("fix: check smtp.host and smtp.port"))

        let server = try SMTPTestServer(arguments: ["--auth-user", "xnat", "--auth-password", "right-password"])
        let noTLS = try Self.checkConfig(["host: 127.0.0.1", "port: \(server.port)", "start_tls: true"])
        #expect(noTLS.status == 78)
        #expect(noTLS.stdout.contains("FAIL STARTTLS    the server does not offer STARTTLS\n"), "\(noTLS.stdout)")

        let wrong = try Self.checkConfig(["host: 127.0.0.1", "port: \(server.port)", "auth: true", "username: xnat",
                                          "password: wrong-password", "response_timeout: 3s"])
        #expect(wrong.status == 78)
        #expect(wrong.lines.contains { $0.hasPrefix("FAIL AUTH ") }, "\(wrong.stdout)")
        #expect(wrong.stdout.contains("fix: check smtp.username"))
        #expect(!wrong.stdout.contains("wrong-password") && !wrong.stderr.contains("wrong-password"))
        #expect(server.received().isEmpty)

        let bad = try Self.checkConfig(["host: 127.0.0.1", "port: 0"])
        #expect(bad.status == 78)
        #expect(bad.stdout.isEmpty)
        #expect(bad.stderr.hasPrefix("outbox: ") && bad.stderr.contains("smtp.port") && bad.stderr.split(separator: "\n").count == 1,
                "\(bad.stderr)")
    }

    @Test("check-config checks the certificate after STARTTLS: self-signed fails naming smtp.ssl_trust; trusted passes")
    func checkConfigCertificate() throws {
        let scratch = Scratch()
        let certificate = try SMTPSettingsTests.TestCertificate(in: scratch)
        let server = try SMTPTestServer(arguments: certificate.serverArguments)
        let untrusted = try Self.checkConfig(["host: 127.0.0.1", "port: \(server.port)", "start_tls: true"])
        #expect(untrusted.status == 78, "\(untrusted.stdout)")
        #expect(untrusted.lines.contains { $0.hasPrefix("ok   STARTTLS") }, "the server agreed; the certificate failed")
        #expect(untrusted.lines.contains { $0.hasPrefix("FAIL certificate") && $0.contains("self-signed") }, "\(untrusted.stdout)")
        #expect(untrusted.stdout.contains("smtp.ssl_trust"))
        let trusted = try Self.checkConfig(["host: 127.0.0.1", "port: \(server.port)", "start_tls: true", "ssl_trust: 127.0.0.1"])
        #expect(trusted.status == 0, "\(trusted.stdout)")
        #expect(trusted.lines.contains { $0.hasPrefix("ok   STARTTLS") })
        #expect(trusted.lines.contains { $0.hasPrefix("ok   certificate not verified (smtp.ssl_trust)") })
        #expect(server.received().isEmpty, "check-config never sends mail")
    }

    @Test("check-config trusts smtp.ca_file like the daemon: a server signed by a site CA given only there passes")
    func checkConfigCAFile() throws {
        let scratch = Scratch()
        let ca = try TestCA(in: scratch)
        let server = try SMTPTestServer(arguments: ca.serverArguments)
        let without = try Self.checkConfig(["host: localhost", "port: \(server.port)", "start_tls: true"])
        #expect(without.status == 78, "without ca_file the site CA is unknown: \(without.stdout)")
        #expect(without.lines.contains { $0.hasPrefix("FAIL certificate") }, "\(without.stdout)")
        let with = try Self.checkConfig(["host: localhost", "port: \(server.port)", "start_tls: true",
                                         "ca_file: \(ca.caCertificate)"])
        #expect(with.status == 0, "\(with.stdout)")
        #expect(with.lines.contains { $0.hasPrefix("ok   certificate verified") }, "\(with.stdout)")
        #expect(server.received().isEmpty, "check-config never sends mail")
    }

    @Test("check-config says EHLO with the same name as the daemon (its FQDN, not the short host name)")
    func checkConfigEHLOName() async throws {
        let scratch = Scratch()
        let log = scratch.file("session.log")
        let server = try SMTPTestServer(scratch: scratch, arguments: ["--session-log", log])
        let check = try Self.checkConfig(["host: 127.0.0.1", "port: \(server.port)"])
        #expect(check.status == 0, "\(check.stdout)")
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "ehlo@example.org", subject: "EHLO name"))
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        daemon.terminate()
        let names = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
            .filter { $0.hasPrefix("EHLO ") }
        #expect(names.count >= 2, "\(names)")
        #expect(Set(names).count == 1, "check-config and outboxd sent different EHLO names: \(names)")
    }

    @Test("delete asks on a terminal: no keeps the message (exit 1), yes deletes it")
    func deleteAsksOnTerminal() async throws {
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false", "host: 127.0.0.1", "port: 25"])
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "kim@example.org", subject: "ask first"))
        #expect(await eventually { Self.state(daemon, recipient: "kim@example.org") == "queued" }, "\(daemon.logText)")
        let id = try Self.id(daemon, recipient: "kim@example.org")
        // script(1) (util-linux, essential on Debian) gives outbox a pseudo-terminal and feeds it our answer.
        let command = "\(Paths.outbox) delete \(id) --config \(daemon.configPath)"

        let declined = try run("/usr/bin/script", ["-qec", command, "/dev/null"], stdin: "n\n")
        #expect(declined.status == 1, "\(declined.stdout)")
        #expect(declined.stdout.contains("Delete 1 message for good? [y/N] "))
        #expect(declined.stdout.contains("outbox: nothing deleted"))
        #expect(Self.entry(daemon, recipient: "kim@example.org") != nil)

        let confirmed = try run("/usr/bin/script", ["-qec", command, "/dev/null"], stdin: "y\n")
        #expect(confirmed.status == 0, "\(confirmed.stdout)")
        #expect(confirmed.stdout.contains("deleted 1 message"))
        #expect(Self.entry(daemon, recipient: "kim@example.org") == nil)
        daemon.terminate()
    }
}
