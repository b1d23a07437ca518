import Foundation
import Testing

/// The walking skeleton's path, end to end: a producer's file in the spool, the real outboxd,
/// a real SQLite queue, libcurl, and a real SMTP server on 127.0.0.1.
@Suite("outboxd end to end", .timeLimit(.minutes(3)))
struct DaemonEndToEndTests {
    static let passwordReset = """
        From: XNAT <admin@xnat.example.org>
        To: Alice Example <alice@example.org>
        Cc: bob@example.org
        Bcc: Auditor <audit@example.org>
        Subject: Password reset request
        Message-ID: <reset-1@xnat.example.org>

        Dear Alice,
        follow the link to reset your password.
        .a line starting with a dot survives
        -- XNAT

        """

    @Test("A dropped message arrives with the exact envelope and content: Bcc hidden, prefix once in Subject")
    func delivery() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)", "email_prefix: XNAT"])
        try await daemon.start()
        try daemon.drop("1.reset.eml", Self.passwordReset)

        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        let message = try #require(server.received().first)
        #expect(message.mail_from == "admin@xnat.example.org")
        #expect(message.rcpt_tos == ["alice@example.org", "bob@example.org", "audit@example.org"])
        let expectedHeader = """
            From: XNAT <admin@xnat.example.org>\r
            To: Alice Example <alice@example.org>\r
            Cc: bob@example.org\r
            Subject: [XNAT] Password reset request\r
            Message-ID: <reset-1@xnat.example.org>\r

            """
        #expect(message.data.hasPrefix(expectedHeader), "\(message.data)")
        #expect(!message.data.lowercased().contains("bcc:"))
        #expect(!message.data.contains("audit@example.org"))
        #expect(message.data.components(separatedBy: "[XNAT]").count == 2)
        #expect(message.data.hasSuffix("\r\n\r\nDear Alice,\r\nfollow the link to reset your password.\r\n.a line starting with a dot survives\r\n-- XNAT\r\n"))

        #expect(await eventually { (try? daemon.list().first?["state"] as? String) == "sent" })
        let entry = try #require(try daemon.list().first)
        #expect(entry["attempts"] as? Int == 1)
        #expect(!FileManager.default.fileExists(atPath: daemon.spool + "/new/1.reset.eml"))
        #expect(daemon.terminate() == 0, "SIGTERM must end outboxd with status 0")
        #expect(daemon.logText.contains("Message delivered"))
    }

    @Test("A message dropped while the server is down is deferred with a future next attempt, then delivered once it is up")
    func deferredThenDelivered() async throws {
        let server = try SMTPTestServer()
        let port = server.port
        server.stop()  // the port is now closed: connection refused
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(port)"],
                         extra: "delivery:\n  first_retry: 2s\n  max_retry_delay: 3s\n")
        try await daemon.start()
        try daemon.drop("2.eml", "From: a@example.org\nTo: b@example.org\nSubject: later\n\nbody\n")

        #expect(await eventually { (try? daemon.list().first?["state"] as? String) == "deferred" }, "\(daemon.logText)")
        let entry = try #require(try daemon.list().first)
        let lastError = try #require(entry["last_error"] as? String)
        #expect(lastError.contains("curl error 7"), "\(lastError)")
        let nextText = try #require(entry["next_attempt_time"] as? String)
        let next = try #require(ISO8601DateFormatter().date(from: nextText))
        let arrival = try #require(entry["arrival_time"] as? Int)
        #expect(next.timeIntervalSince1970 >= Double(arrival) + 1.5, "the next attempt is first_retry (2s) after the first")

        try server.start(port: port)
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        #expect(await eventually { (try? daemon.list().first?["state"] as? String) == "sent" })
        // A later message is the sign that the workers moved on: the deferred one went out once, before it.
        try daemon.drop("3.eml", "From: a@example.org\nTo: c@example.org\nSubject: after\n\nbody\n")
        #expect(await eventually { server.received().count >= 2 }, "\(daemon.logText)")
        #expect(await eventually { (try? daemon.list().allSatisfy { $0["state"] as? String == "sent" }) == true })
        #expect(server.received().map(\.rcpt_tos) == [["b@example.org"], ["c@example.org"]], "nothing is sent twice")
        daemon.terminate()
    }

    @Test("A queued message survives SIGKILL of the daemon and is delivered exactly once after restart")
    func survivesKill() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false", "host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        try daemon.drop("3.eml", "From: a@example.org\nTo: b@example.org\nSubject: keep me\n\nbody\n")
        #expect(await eventually { ((try? daemon.list()) ?? []).count == 1 }, "\(daemon.logText)")
        #expect(await eventually { !FileManager.default.fileExists(atPath: daemon.spool + "/new/3.eml") })
        daemon.kill9()
        #expect(server.received().isEmpty, "SMTP is disabled: nothing may be sent")

        daemon.configure(smtp: ["enabled: true", "host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        // A later message is the sign that the workers moved on: the kept one went out once, before it.
        try daemon.drop("4.eml", "From: a@example.org\nTo: c@example.org\nSubject: after\n\nbody\n")
        #expect(await eventually { server.received().count >= 2 }, "\(daemon.logText)")
        #expect(server.received().map(\.rcpt_tos) == [["b@example.org"], ["c@example.org"]], "delivered exactly once")
        #expect(server.received().first?.data.contains("Subject: keep me") == true)
        daemon.terminate()
    }

    @Test("Bad spool files land in failed/ with a one-line reason; the daemon keeps running and delivers the rest")
    func quarantine() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        try daemon.drop("bad.eml", "this is not a mail message\n")
        try daemon.drop("norcpt.eml", "From: a@example.org\nSubject: nobody\n\nx\n")
        try FileManager.default.createSymbolicLink(atPath: daemon.spool + "/new/link.eml", withDestinationPath: "/etc/passwd")
        try daemon.drop("good.eml", "From: a@example.org\nTo: b@example.org\nSubject: fine\n\nx\n")

        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        let failed = daemon.spool + "/failed/"
        #expect(await eventually { FileManager.default.fileExists(atPath: failed + "link.eml.error") })
        func reason(_ name: String) -> String {
            (try? String(contentsOfFile: failed + name + ".error", encoding: .utf8)) ?? "(missing)"
        }
        #expect(reason("bad.eml").hasPrefix("not an RFC 5322 message: line 1"))
        #expect(reason("norcpt.eml") == "no recipients: To:, Cc: and Bcc: are empty or missing\n")
        #expect(reason("link.eml").hasPrefix("a symbolic link in new/ (never followed)"))
        for name in ["bad.eml", "norcpt.eml", "link.eml"] {
            #expect(FileManager.default.fileExists(atPath: failed + name) || (try? FileManager.default.destinationOfSymbolicLink(atPath: failed + name)) != nil)
            #expect(reason(name).split(separator: "\n").count == 1)
        }
        #expect(daemon.isRunning)
        #expect(daemon.terminate() == 0)
    }

    @Test("Under systemd, outboxd sends READY=1 and a one-line STATUS= with the queue counts, and STOPPING=1 on SIGTERM")
    func notifiesSystemd() async throws {
        let server = try SMTPTestServer()
        server.stop()  // connection refused: the message stays deferred and shows in the counts
        let daemon = DaemonUnderTest()
        let socket = try NotifySocket(path: daemon.scratch.file("notify.sock"))
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start(notify: socket)
        #expect(await eventually { socket.receive().contains { $0.hasPrefix("READY=1") } })
        try daemon.drop("n.eml", "From: a@example.org\nTo: b@example.org\nSubject: s\n\nx\n")
        #expect(await eventually { socket.receive().contains { $0.hasPrefix("STATUS=") && $0.contains("0 queued, 1 deferred") } },
                "\(socket.receive())")
        let status = try #require(socket.receive().last { $0.hasPrefix("STATUS=") })
        #expect(status.contains("127.0.0.1:\(server.port)"))
        #expect(!status.dropFirst().contains("\n"), "STATUS must be one line")
        #expect(daemon.terminate() == 0)
        #expect(socket.receive().contains { $0.hasPrefix("STOPPING=1") })
    }

    @Test("When inotify misses files (here: new/ replaced under the watch), the periodic rescan still takes them")
    func rescanCatchesMissedEvents() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"], extra: "  rescan_interval: 1s\n")
        try await daemon.start()
        // The watch follows the old directory's inode; the new new/ gets no events at all. It is
        // renamed over the old one, so that new/ never goes missing (outboxd recreates a missing one).
        let replacement = daemon.spool + "/new.next"
        try FileManager.default.createDirectory(atPath: replacement, withIntermediateDirectories: false)
        #expect(rename(replacement, daemon.spool + "/new") == 0, "rename: \(String(cString: strerror(errno)))")
        try daemon.drop("missed.eml", "From: a@example.org\nTo: b@example.org\nSubject: missed event\n\nx\n")
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        #expect(server.received().first?.data.contains("Subject: missed event") == true)
        daemon.terminate()
    }

    @Test("A damaged queue file stops outboxd with one line and EX_DATAERR (65), which the unit does not restart")
    func damagedQueue() throws {
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: 25"])
        let garbage = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) })
        FileManager.default.createFile(atPath: daemon.database, contents: garbage)
        let result = try run(Paths.outboxd, ["--config", daemon.configPath])
        #expect(result.status == 65)
        let lastLine = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(lastLine.hasPrefix("outboxd: refusing to start: \(daemon.database) is damaged"), "\(result.stderr)")
        #expect(FileManager.default.contents(atPath: daemon.database) == garbage, "the file is left as it was")
        let unit = try String(contentsOfFile: Paths.packageRoot.appendingPathComponent("systemd/outboxd.service").path, encoding: .utf8)
        #expect(unit.contains("RestartPreventExitStatus=65 78"))
    }

    @Test("A start after a clean stop checks the header only; after kill -9, or once the file was changed, the whole file")
    func startCheck() async throws {
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false"])
        try await daemon.start()
        #expect(daemon.terminate() == 0)
        #expect(daemon.occurrences(of: "Checked the queue file") == 0, "the first start creates the file")
        try await daemon.start()
        #expect(daemon.occurrences(of: "outbox.check=header and schema") == 1, "\(daemon.logText)")
        daemon.kill9()
        try await daemon.start()
        #expect(daemon.occurrences(of: "outbox.check=whole file") == 1, "\(daemon.logText)")
        #expect(daemon.occurrences(of: "no record of a clean stop") == 1)
        #expect(daemon.terminate() == 0)

        // Garbage in every page but the first after a clean stop: the header alone looks sound, and
        // only the whole-file check the changed file gets can find it.
        let handle = try #require(FileHandle(forUpdatingAtPath: daemon.database))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data((0..<Int(size) - 4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 9) }))
        try handle.close()
        let damaged = FileManager.default.contents(atPath: daemon.database)
        let result = try run(Paths.outboxd, ["--config", daemon.configPath])
        #expect(result.status == 65)
        let lastLine = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(lastLine.hasPrefix("outboxd: refusing to start: \(daemon.database) is damaged"), "\(result.stderr)")
        let list = try run(Paths.outbox, ["list", "--config", daemon.configPath])
        #expect(list.status == 65)
        #expect(list.stderr.hasPrefix("outbox: \(daemon.database) is damaged") && list.stderr.split(separator: "\n").count == 1,
                "\(list.stderr)")
        #expect(FileManager.default.contents(atPath: daemon.database) == damaged, "the file is left as it was")
    }

    @Test("A queue an older outboxd wrote: the CLI says to restart outboxd; outboxd upgrades it, counts included")
    func olderSchema() async throws {
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false"])
        try await daemon.start()
        try daemon.drop("1.eml", "From: a@example.org\nTo: b@example.org\nSubject: one\n\nx\n")
        #expect(await eventually { (try? daemon.list().count) == 1 })
        #expect(daemon.terminate() == 0)
        // As the v3 schema left it: no message_count, its triggers, or their migration's row.
        let downgrade = try run("/usr/bin/sqlite3", [daemon.database, """
            DROP TRIGGER message_count_insert; DROP TRIGGER message_count_delete; DROP TRIGGER message_count_update;
            DROP TABLE message_count; DELETE FROM grdb_migrations WHERE identifier LIKE 'v4%';
            """])
        #expect(downgrade.status == 0, "\(downgrade.stderr)")
        let list = try run(Paths.outbox, ["list", "--config", daemon.configPath])
        #expect(list.status == 66)
        #expect(list.stderr.hasSuffix("has the schema of an older outboxd (restart outboxd once to upgrade it)\n"), "\(list.stderr)")
        try await daemon.start()
        let stats = try run(Paths.outbox, ["stats", "--json", "--config", daemon.configPath])
        #expect(stats.status == 0, "\(stats.stderr)")
        #expect(stats.stdout.contains("\"queued\":1"), "\(stats.stdout)")
        #expect(daemon.terminate() == 0)
    }

    @Test("A bad configuration stops outboxd at once with one line naming the file and key (exit 78)",
          arguments: [
            ("smtp:\n  start_tsl: true\n", "smtp.start_tsl: unknown key (did you mean smtp.start_tls?)"),
            ("smtp:\n  port: 0\n", "smtp.port: must be a whole number from 1 to 65535, got 0"),
            ("smtp:\n  protocol: imap\n", "smtp.protocol: must be smtp or smtps, got \"imap\""),
          ])
    func badConfiguration(yaml: String, expected: String) throws {
        let scratch = Scratch()
        let config = scratch.file("outbox.yaml")
        FileManager.default.createFile(atPath: config, contents: Data(yaml.utf8))
        let result = try run(Paths.outboxd, ["--config", config])
        #expect(result.status == 78)
        #expect(result.stderr == "outboxd: \(config): \(expected)\n")
    }
}
