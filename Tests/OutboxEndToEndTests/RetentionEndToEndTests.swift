import Foundation
import Testing

@Suite("Retention by default: delivered bodies dropped, finished mail purged", .serialized)
struct RetentionEndToEndTests {
    static let secret = "RESET-zq81-https://xnat.example.org/app/template/ChangePassword?token=4b7c1e0d"

    /// The queue's files after a stop, as one byte string.
    func queueBytes(_ daemon: DaemonUnderTest) -> Data {
        ["", "-wal", "-shm"].reduce(into: Data()) { all, suffix in
            all.append(FileManager.default.contents(atPath: daemon.database + suffix) ?? Data())
        }
    }

    @Test("After delivery `outbox show` still tells who got it, when and the server's reply; --body says the content was dropped; the files hold no body; keep_sent purges it",
          .timeLimit(.minutes(3)))
    func deliveredBodyDropped() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"], queue: ["keep_sent: 1h"])
        try await daemon.start()
        for index in 0..<5 {
            try daemon.drop("\(index).eml", "From: admin@example.org\nTo: alice@example.org\nSubject: Password reset \(index)\n\n\(Self.secret)-\(index)\n")
        }
        #expect(await eventually { server.received().count == 5 }, "\(daemon.logText)")
        #expect(server.received().allSatisfy { $0.data.contains(Self.secret) })
        #expect(await eventually { (try? daemon.list().allSatisfy { $0["state"] as? String == "sent" }) == true })
        let id = try #require(try daemon.list().first?["queue_id"] as? String)

        let show = try run(Paths.outbox, ["show", id, "--config", daemon.configPath])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("State:      sent"), "\(show.stdout)")
        #expect(show.stdout.contains("Content:    body dropped after delivery"), "\(show.stdout)")
        #expect(show.stdout.contains("Subject: Password reset 0"), "the headers stay")
        #expect(show.stdout.contains("alice@example.org  sent  250"), "\(show.stdout)")
        #expect(show.stdout.contains("1. ") && show.stdout.contains("delivered"), "the attempt stays")
        #expect(!show.stdout.contains(Self.secret))
        let body = try run(Paths.outbox, ["show", id, "--body", "--config", daemon.configPath])
        #expect(body.status == 66)
        #expect(body.stdout.isEmpty)
        #expect(body.stderr.hasPrefix("outbox: the content of message \(id) was dropped after delivery ")
                    && body.stderr.split(separator: "\n").count == 1, "\(body.stderr)")

        #expect(daemon.terminate() == 0)
        #expect(queueBytes(daemon).range(of: Data(Self.secret.utf8)) == nil, "no delivered body left in the queue files")

        // keep_sent: 1s → the next start's sweep deletes the records.
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"], queue: ["keep_sent: 1s"])
        try await daemon.start()
        #expect(await eventually { (try? daemon.list().count) == 0 }, "\(daemon.logText)")
        #expect(daemon.logText.contains("Purged finished messages past their keep time"))
        #expect(daemon.terminate() == 0)
    }

    @Test("A failed message keeps its content (requeue works) until keep_failed, then the running daemon deletes it",
          .timeLimit(.minutes(2)))
    func failedKeptThenPurged() async throws {
        let server = try SMTPTestServer(arguments: ["--reject-rcpt", "nobody@example.org=550"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"], queue: ["keep_failed: 6s"])
        try await daemon.start()
        try daemon.drop("1.eml", "From: admin@example.org\nTo: nobody@example.org\nSubject: refused\n\n\(Self.secret)\n")
        #expect(await eventually { (try? daemon.list().first?["state"] as? String) == "failed" }, "\(daemon.logText)")
        let id = try #require(try daemon.list().first?["queue_id"] as? String)
        let body = try run(Paths.outbox, ["show", id, "--body", "--config", daemon.configPath])
        #expect(body.status == 0 && body.stdout.contains(Self.secret), "\(body.stderr)")
        #expect(await eventually { (try? daemon.list().count) == 0 }, "purged while running: \(daemon.logText)")
        #expect(daemon.logText.contains("outbox.failed=1"))
        #expect(daemon.terminate() == 0)
    }

    @Test("keep_sent_content: true keeps the delivered body (opt-in)", .timeLimit(.minutes(2)))
    func keptWhenAsked() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"], queue: ["keep_sent_content: true"])
        try await daemon.start()
        try daemon.drop("1.eml", "From: admin@example.org\nTo: alice@example.org\nSubject: kept\n\n\(Self.secret)\n")
        #expect(await eventually { (try? daemon.list().first?["state"] as? String) == "sent" }, "\(daemon.logText)")
        let id = try #require(try daemon.list().first?["queue_id"] as? String)
        let body = try run(Paths.outbox, ["show", id, "--body", "--config", daemon.configPath])
        #expect(body.status == 0 && body.stdout.contains(Self.secret), "\(body.stderr)")
        #expect(daemon.terminate() == 0)
    }
}
