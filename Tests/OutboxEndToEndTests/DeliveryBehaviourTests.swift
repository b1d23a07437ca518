import Foundation
import Testing

/// How delivery behaves beyond the settings: per-recipient results, connection reuse, dead and
/// stalling servers, and what is refused before it reaches the server. Real outboxd, real servers.
@Suite("Delivery behaviour against real servers", .serialized, .timeLimit(.minutes(3)))
struct DeliveryBehaviourTests {
    typealias Peer = SMTPSettingsTests.Peer

    static func message(to recipients: String, subject: String = "Behaviour test") -> String {
        "From: XNAT <admin@xnat.example.org>\nTo: \(recipients)\nSubject: \(subject)\n\nbody\n"
    }

    func entry(_ daemon: DaemonUnderTest) -> [String: Any] { (try? daemon.list().first) ?? [:] }

    func recipients(_ daemon: DaemonUnderTest) -> [String: (state: String, reason: String)] {
        let list = entry(daemon)["recipients"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: list.map {
            ($0["address"] as? String ?? "", ($0["state"] as? String ?? "", $0["delay_reason"] as? String ?? ""))
        })
    }

    // MARK: Per recipient

    @Test("Some RCPTs refused: accepted ones get the mail once, 5xx ones fail with their reply, 4xx ones are retried alone")
    func perRecipientResults() async throws {
        let peer = try Peer(["--reject-rcpt", "gone@example.org=550", "--reject-rcpt", "busy@example.org=451"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)"],
                         extra: "delivery:\n  first_retry: 1s\n  max_retry_delay: 1s\n")
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "ok@example.org, gone@example.org, busy@example.org"))

        #expect(await eventually { peer.server.received().count == 1 }, "\(daemon.logText)")
        #expect(peer.server.received().first?.rcpt_tos == ["ok@example.org"])
        #expect(await eventually { entry(daemon)["state"] as? String == "deferred" }, "\(daemon.logText)")
        let first = recipients(daemon)
        #expect(first["ok@example.org"]?.state == "sent")
        #expect(first["gone@example.org"]?.state == "failed")
        #expect(first["gone@example.org"]?.reason.hasPrefix("550 5.1.1 <gone@example.org>") == true, "\(first)")
        #expect(first["busy@example.org"]?.state == "queued")
        #expect(first["busy@example.org"]?.reason.hasPrefix("451 ") == true, "\(first)")
        #expect((entry(daemon)["last_error"] as? String)?.hasPrefix("451 ") == true)

        // The server now accepts busy@: only busy@ gets the retry.
        peer.server.stop()
        peer.server.arguments = ["--session-log", peer.sessionLog, "--reject-rcpt", "gone@example.org=550"]
        try peer.server.start(port: peer.port)
        #expect(await eventually { peer.server.received().count == 2 }, "\(daemon.logText)")
        #expect(peer.server.received().last?.rcpt_tos == ["busy@example.org"])
        #expect(await eventually { entry(daemon)["state"] as? String == "sent" }, "\(daemon.logText)")
        #expect(recipients(daemon)["busy@example.org"]?.state == "sent")
        #expect(recipients(daemon)["gone@example.org"]?.state == "failed")
        // A later message is the sign that the workers moved on: nobody got the first one twice.
        try daemon.drop("2.eml", Self.message(to: "later@example.org"))
        #expect(await eventually { peer.server.received().count >= 3 }, "\(daemon.logText)")
        #expect(peer.server.received().map(\.rcpt_tos) == [["ok@example.org"], ["busy@example.org"], ["later@example.org"]],
                "nobody gets the mail twice")
        daemon.terminate()
    }

    @Test("Every RCPT refused for good, or the message refused after DATA: the message fails with the reply",
          arguments: [
            (["--reject-rcpt", "a@example.org=550", "--reject-rcpt", "b@example.org=553"], "550 "),
            (["--fail-data", "554"], "554 "),
          ])
    func permanentRefusal(arguments: [String], reply: String) async throws {
        let peer = try Peer(arguments)
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)"])
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "a@example.org, b@example.org"))
        #expect(await eventually { entry(daemon)["state"] as? String == "failed" }, "\(daemon.logText)")
        #expect((entry(daemon)["last_error"] as? String)?.hasPrefix(reply) == true, "\(entry(daemon))")
        #expect(recipients(daemon).values.allSatisfy { $0.state == "failed" }, "\(recipients(daemon))")
        #expect(peer.server.received().isEmpty)
        daemon.terminate()
        #expect(daemon.logText.contains("Message failed permanently"))
    }

    @Test("failure_notice_to: a failed recipient is reported to the admin, with the reply; a failed notice is not reported")
    func failureNotice() async throws {
        let peer = try Peer(["--reject-rcpt", "gone@example.org=550", "--reject-rcpt", "unreachable-admin@example.org=550"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)", "from: outbox@xnat.example.org"],
                         extra: "delivery:\n  failure_notice_to: admin@example.org\n")
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "ok@example.org, gone@example.org", subject: "Your data is ready"))
        #expect(await eventually { peer.server.received().count == 2 }, "\(daemon.logText)")
        let notice = try #require(peer.server.received().first { $0.rcpt_tos == ["admin@example.org"] })
        #expect(notice.mail_from == "outbox@xnat.example.org")
        #expect(notice.data.contains("Subject: [outbox] Undeliverable: Your data is ready\r\n"), "\(notice.data)")
        #expect(notice.data.contains("<gone@example.org>: 550 5.1.1 <gone@example.org>"), "\(notice.data)")
        #expect(!notice.data.contains("<ok@example.org>:"))
        daemon.terminate()

        // A notice that fails itself causes no further notice.
        let second = DaemonUnderTest()
        second.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)"],
                         extra: "delivery:\n  failure_notice_to: unreachable-admin@example.org\n")
        try await second.start()
        try second.drop("1.eml", Self.message(to: "gone@example.org"))
        #expect(await eventually { ((try? second.list()) ?? []).count == 2 && (try? second.list().allSatisfy { $0["state"] as? String == "failed" }) == true },
                "\(second.logText)")
        // A later message is the sign that the workers moved on past the failed notice.
        try second.drop("2.eml", Self.message(to: "ok@example.org", subject: "after"))
        #expect(await eventually { (try? second.list().contains { $0["state"] as? String == "sent" }) == true }, "\(second.logText)")
        #expect(try second.list().count == 3, "no notice about a notice")
        second.terminate()
    }

    @Test("An 8-bit UTF-8 message arrives 7-bit clean: body quoted-printable, prefixed Subject RFC 2047 (no 8BITMIME in curl)")
    func eightBitBody() async throws {
        let peer = try Peer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)", "email_prefix: XNAT"])
        try await daemon.start()
        try daemon.drop("1.eml", "From: a@example.org\nTo: b@example.org\nSubject: Grüße\n\nGrüße, Jürgen\n")
        #expect(await eventually { peer.server.received().count == 1 }, "\(daemon.logText)")
        let data = try #require(peer.server.received().first?.data)
        #expect(data.unicodeScalars.allSatisfy { $0.value < 0x80 }, "\(data)")
        #expect(data.contains("Content-Transfer-Encoding: quoted-printable\r\n"))
        #expect(data.contains("Content-Type: text/plain; charset=utf-8\r\n"))
        #expect(data.hasSuffix("\r\n\r\nGr=C3=BC=C3=9Fe, J=C3=BCrgen\r\n"), "\(data)")
        // The prefixed Subject is one RFC 2047 word that decodes to "[XNAT] Grüße".
        let subject = try #require(data.split(separator: "\r\n").first { $0.hasPrefix("Subject: ") })
        let encoded = subject.dropFirst("Subject: =?UTF-8?B?".count).dropLast(2)
        #expect(Data(base64Encoded: String(encoded)).map { String(decoding: $0, as: UTF8.self) } == "[XNAT] Grüße", "\(subject)")
        daemon.terminate()
    }

    @Test("Past delivery.lifetime a temporarily refused message fails (kept, with the last reply); a settings problem never does")
    func lifetime() async throws {
        let peer = try Peer(["--fail-data", "451", "--auth-user", "xnat", "--auth-password", "right"])
        let retries = "delivery:\n  first_retry: 1s\n  max_retry_delay: 1s\n  lifetime: 2s\n"
        let refused = DaemonUnderTest()
        refused.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)", "auth: true", "username: xnat", "password: right"],
                          extra: retries)
        try await refused.start()
        try refused.drop("1.eml", Self.message(to: "a@example.org"))
        #expect(await eventually { entry(refused)["state"] as? String == "failed" }, "\(refused.logText)")
        let error = entry(refused)["last_error"] as? String ?? ""
        #expect(error.hasPrefix("gave up after "), "\(error)")
        #expect(error.contains("(delivery.lifetime): 451 "), "\(error)")
        #expect(recipients(refused)["a@example.org"]?.state == "failed")
        refused.terminate()

        let misconfigured = DaemonUnderTest()
        misconfigured.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)", "auth: true", "username: xnat", "password: wrong"],
                                extra: retries)
        try await misconfigured.start()
        try misconfigured.drop("1.eml", Self.message(to: "a@example.org"))
        #expect(await eventually { ((entry(misconfigured)["attempts"] as? Int) ?? 0) >= 4 }, "\(misconfigured.logText)")
        #expect(entry(misconfigured)["state"] as? String == "deferred", "our settings are wrong, not the mail: kept and retried")
        misconfigured.terminate()
    }

    // MARK: Connections

    @Test("One worker sends consecutive messages over one connection with one login")
    func connectionReuse() async throws {
        let peer = try Peer(["--auth-user", "xnat", "--auth-password", "pw"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)", "auth: true", "username: xnat", "password: pw"],
                         extra: "delivery:\n  workers: 1\n")
        try await daemon.start()
        for n in 1...4 { try daemon.drop("\(n).eml", Self.message(to: "r\(n)@example.org")) }
        #expect(await eventually { peer.server.received().count == 4 }, "\(daemon.logText)")
        #expect(peer.said.filter { $0 == "connect" }.count == 1, "\(peer.said)")
        #expect(peer.said.filter { $0.hasPrefix("AUTH") }.count == 1, "\(peer.said)")
        daemon.terminate()
    }

    @Test("Parallel workers each keep their own connection: every message arrives exactly once, at most one login per worker")
    func parallelWorkers() async throws {
        // Each reply to the final dot takes 200 ms, so four workers overlap on the server.
        let peer = try Peer(["--auth-user", "xnat", "--auth-password", "pw", "--data-delay", "0.2"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)", "auth: true", "username: xnat", "password: pw"],
                         extra: "delivery:\n  workers: 4\n")
        try await daemon.start()
        for n in 1...24 { try daemon.drop("\(n).eml", Self.message(to: "r\(n)@example.org")) }
        #expect(await eventually { peer.server.received().count >= 24 }, "\(daemon.logText)")
        #expect(await eventually { (try? daemon.list().allSatisfy { $0["state"] as? String == "sent" }) == true })
        let recipients = peer.server.received().flatMap(\.rcpt_tos)
        #expect(recipients.count == 24 && Set(recipients).count == 24, "each exactly once")
        #expect(peer.said.contains { $0.hasPrefix("concurrent ") }, "the server never had two sessions at once: \(peer.said)")
        #expect(peer.said.filter { $0 == "connect" }.count <= 4, "\(peer.said)")
        #expect(peer.said.filter { $0.hasPrefix("AUTH") }.count <= 4, "\(peer.said)")
        daemon.terminate()
    }

    @Test("smtp.max_connection_age: a kept connection older than that is not reused")
    func maximumConnectionAge() async throws {
        let peer = try Peer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)", "max_connection_age: 1s"], extra: "delivery:\n  workers: 1\n")
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "first@example.org"))
        #expect(await eventually { peer.server.received().count == 1 }, "\(daemon.logText)")
        try await Task.sleep(for: .seconds(2))
        try daemon.drop("2.eml", Self.message(to: "second@example.org"))
        #expect(await eventually { peer.server.received().count == 2 }, "\(daemon.logText)")
        #expect(peer.said.filter { $0 == "connect" }.count == 2, "\(peer.said)")
        daemon.terminate()
    }

    @Test("A kept connection the server dropped while idle: the next message goes out on a fresh one, first attempt")
    func idleDropReconnects() async throws {
        let peer = try Peer(["--idle-timeout", "1"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)"], extra: "delivery:\n  workers: 1\n")
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "first@example.org"))
        #expect(await eventually { peer.server.received().count == 1 }, "\(daemon.logText)")
        try await Task.sleep(for: .seconds(3))  // the server closes the idle connection after 1 s
        try daemon.drop("2.eml", Self.message(to: "second@example.org"))
        #expect(await eventually { peer.server.received().count == 2 }, "\(daemon.logText)")
        #expect(await eventually { (try? daemon.list().allSatisfy { $0["state"] as? String == "sent" }) == true })
        #expect(try daemon.list().allSatisfy { $0["attempts"] as? Int == 1 }, "no deferral for a dropped idle connection")
        #expect(peer.said.filter { $0 == "connect" }.count == 2, "\(peer.said)")
        daemon.terminate()
    }

    @Test("A 421 on a reused connection: the message goes out at once on a fresh connection, not deferred")
    func closingReplyRetriedOnce() async throws {
        let peer = try Peer(["--close-after", "1", "--auth-user", "xnat", "--auth-password", "pw"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)", "auth: true", "username: xnat", "password: pw"],
                         extra: "delivery:\n  workers: 1\n")
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "first@example.org"))
        #expect(await eventually { peer.server.received().count == 1 }, "\(daemon.logText)")
        try daemon.drop("2.eml", Self.message(to: "second@example.org"))
        #expect(await eventually { peer.server.received().count == 2 }, "\(daemon.logText)")
        #expect(await eventually { (try? daemon.list().allSatisfy { $0["state"] as? String == "sent" }) == true })
        #expect(try daemon.list().allSatisfy { $0["attempts"] as? Int == 1 }, "\((try? daemon.list()) ?? [])")
        #expect(peer.said.filter { $0 == "421" }.count == 1, "the second message met the 421 first: \(peer.said)")
        #expect(peer.said.filter { $0 == "connect" }.count == 2, "\(peer.said)")
        daemon.terminate()
    }

    @Test("delivery.rate_limit: no more messages leave in a minute than allowed; the rest wait queued")
    func rateLimit() async throws {
        let peer = try Peer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)"], extra: "delivery:\n  rate_limit: 2\n")
        try await daemon.start()
        for n in 1...5 { try daemon.drop("\(n).eml", Self.message(to: "r\(n)@example.org")) }
        #expect(await eventually { peer.server.received().count == 2 }, "\(daemon.logText)")
        #expect(await eventually { ((try? daemon.list()) ?? []).count == 5 })
        try await Task.sleep(for: .seconds(3))  // well inside the minute
        #expect(peer.server.received().count == 2)
        #expect(try daemon.list().filter { $0["state"] as? String == "queued" }.count == 3)
        #expect(daemon.terminate() == 0, "a worker waiting for a slot does not hold up shutdown")
    }

    @Test("A server that accepts TCP and never answers cannot stall the queue: the attempt times out and is deferred")
    func stallingServer() async throws {
        let scratch = Scratch()
        let portFile = scratch.file("port")
        let script = """
            import os, socket, sys
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
            open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
            held = []
            while True:
                held.append(s.accept()[0])
            """
        let staller = try ChildProcess("/usr/bin/python3", ["-c", script, portFile])
        defer {
            staller.signal(SIGTERM)
            staller.wait()
        }
        #expect(await eventually { FileManager.default.fileExists(atPath: portFile) })
        let port = try String(contentsOfFile: portFile, encoding: .utf8)
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(port)", "connect_timeout: 2s", "response_timeout: 2s"],
                         extra: "delivery:\n  workers: 1\n")
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "a@example.org"))
        #expect(await eventually(timeout: .seconds(60)) { entry(daemon)["state"] as? String == "deferred" }, "\(daemon.logText)")
        #expect((entry(daemon)["last_error"] as? String)?.contains("curl error 28") == true, "\(entry(daemon))")
        #expect(daemon.terminate() == 0)
    }

    @Test("No reply to the final dot: the attempt times out, deferred and recorded as possibly delivered")
    func stallAfterBody() async throws {
        let peer = try Peer(["--stall-data"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(peer.port)", "response_timeout: 2s"],
                         extra: "delivery:\n  workers: 1\n")
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "a@example.org"))
        #expect(await eventually(timeout: .seconds(60)) { entry(daemon)["state"] as? String == "deferred" }, "\(daemon.logText)")
        let error = entry(daemon)["last_error"] as? String ?? ""
        #expect(error.contains("possibly delivered"), "\(error)")
        #expect(error.contains("curl error 28"), "\(error)")
        #expect(daemon.terminate() == 0)
    }

    // MARK: Refused before sending

    @Test("An address with CR/LF that reached the queue file is refused before sending; the rest of the queue flows")
    func injectedAddressRefused() async throws {
        let peer = try Peer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false", "host: 127.0.0.1", "port: \(peer.port)"])
        try await daemon.start()
        try daemon.drop("1.eml", Self.message(to: "victim@example.org", subject: "tampered"))
        try daemon.drop("2.eml", Self.message(to: "fine@example.org", subject: "fine"))
        #expect(await eventually { ((try? daemon.list()) ?? []).count == 2 })
        daemon.terminate()
        // Someone with write access to the queue file: the intake check is bypassed.
        let sql = "UPDATE recipient SET address = 'victim@example.org' || char(13, 10) || 'RCPT TO:<evil@example.org>' "
            + "WHERE address = 'victim@example.org';"
        let result = try run("/usr/bin/sqlite3", [daemon.database, sql])
        #expect(result.status == 0, "\(result.stderr)")

        daemon.configure(smtp: ["enabled: true", "host: 127.0.0.1", "port: \(peer.port)"])
        try await daemon.start()
        #expect(await eventually { peer.server.received().count == 1 }, "\(daemon.logText)")
        #expect(peer.server.received().first?.rcpt_tos == ["fine@example.org"])
        let tampered = try #require(try daemon.list().first { ($0["recipients"] as? [[String: Any]])?.count == 1
            && (($0["recipients"] as? [[String: Any]])?.first?["address"] as? String)?.hasPrefix("victim") == true })
        #expect(tampered["state"] as? String == "failed")
        #expect((tampered["last_error"] as? String)?.contains("control character") == true, "\(tampered)")
        #expect((tampered["recipients"] as? [[String: Any]])?.first?["state"] as? String == "failed")
        // A later message is the sign that the workers moved on past the tampered one.
        try daemon.drop("3.eml", Self.message(to: "after@example.org", subject: "after"))
        #expect(await eventually { peer.server.received().count == 2 }, "\(daemon.logText)")
        #expect(peer.server.received().map(\.rcpt_tos) == [["fine@example.org"], ["after@example.org"]])
        #expect(!peer.server.received().contains { $0.rcpt_tos.contains("evil@example.org") })
        daemon.terminate()
    }
}
