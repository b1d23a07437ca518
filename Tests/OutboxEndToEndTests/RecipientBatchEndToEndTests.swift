import Foundation
import Testing

@Suite("Recipients in batches of delivery.max_recipients_per_transaction", .serialized)
struct RecipientBatchEndToEndTests {
    @Test("250 recipients go out in transactions of 100, 100 and 50; a 4xx in batch 2 retries only that recipient and the untried ones",
          .timeLimit(.minutes(3)))
    func batches() async throws {
        let server = try SMTPTestServer(arguments: ["--reject-rcpt", "r150@example.org=451"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"],
                         extra: "delivery:\n  first_retry: 1s\n  max_retry_delay: 1s\n")
        try await daemon.start()
        let addresses = (0..<250).map { "r\($0)@example.org" }
        // Folded, one address a line: the header stays within SMTP's line limit.
        try daemon.drop("many.eml", "From: admin@example.org\nTo: \(addresses.joined(separator: ",\n "))\nSubject: many\n\nhello\n")

        // Batch 1 (r0–r99), batch 2 (r100–r199; r150 put off), then the retry: r150 again (451) and r200–r249.
        #expect(await eventually { server.received().count == 3 }, "\(daemon.logText)")
        let received = server.received()
        #expect(received.map(\.rcpt_tos.count) == [100, 99, 50])
        let delivered = received.flatMap(\.rcpt_tos)
        #expect(Set(delivered).count == delivered.count, "no recipient got the message twice")
        #expect(Set(delivered) == Set(addresses).subtracting(["r150@example.org"]))

        // More retries of r150 alone send nothing more to anyone else.
        #expect(await eventually { daemon.occurrences(of: "Message deferred") >= 3 }, "\(daemon.logText)")
        #expect(server.received().count == 3)
        let entry = try #require(try daemon.list().first)
        #expect(entry["state"] as? String == "deferred")
        #expect(daemon.logText.contains("Recipient batch done; the next batch follows"))
        #expect(daemon.terminate() == 0)
    }

    @Test("kill -9 while batch 2 is in flight: after the restart batch 1 is never sent again; everyone gets it",
          .timeLimit(.minutes(3)))
    func killBetweenBatches() async throws {
        // Each transaction's final dot is answered after 3 s: the kill lands inside batch 2 (a 1 s window
        // was missed once by the 50 ms poll on a loaded CI machine).
        let server = try SMTPTestServer(arguments: ["--data-delay", "3.0"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"], extra: "delivery:\n  workers: 1\n")
        try await daemon.start()
        let addresses = (0..<250).map { "k\($0)@example.org" }
        try daemon.drop("many.eml", "From: admin@example.org\nTo: \(addresses.joined(separator: ",\n "))\nSubject: many\n\nhello\n")
        // Logged once batch 1's outcome is committed; batch 2 starts at once.
        #expect(await eventually { daemon.occurrences(of: "Recipient batch done") >= 1 }, "\(daemon.logText)")
        daemon.kill9()
        try await daemon.start()
        #expect(await eventually { (try? daemon.list().first?["state"] as? String) == "sent" }, "\(daemon.logText)")
        #expect(daemon.terminate() == 0)

        let delivered = server.received().flatMap(\.rcpt_tos)
        let times = Dictionary(delivered.map { ($0, 1) }, uniquingKeysWith: +)
        #expect(addresses.prefix(100).allSatisfy { times[$0] == 1 }, "batch 1 exactly once")
        #expect(addresses.allSatisfy { (times[$0] ?? 0) >= 1 }, "everyone got it")
        // The transaction in flight at the kill may have been taken by the server before it died
        // (its reply never arrived): that one batch may arrive twice, nothing else.
        #expect(delivered.count <= 250 + 100, "\(server.received().map(\.rcpt_tos.count))")
    }

    @Test("Past delivery.lifetime, recipients not delivered yet (put off, or in batches never tried) fail with the reason; nobody gets it twice",
          .timeLimit(.minutes(2)))
    func giveUpWithUntriedBatches() async throws {
        // g0 is put off forever; each retry sends g0 with the next still-queued recipient.
        let server = try SMTPTestServer(arguments: ["--reject-rcpt", "g0@example.org=451"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"],
                         extra: "delivery:\n  max_recipients_per_transaction: 2\n  first_retry: 1s\n  max_retry_delay: 1s\n  lifetime: 2s\n")
        try await daemon.start()
        let addresses = (0..<8).map { "g\($0)@example.org" }
        try daemon.drop("eight.eml", "From: admin@example.org\nTo: \(addresses.joined(separator: ", "))\nSubject: s\n\nx\n")
        #expect(await eventually { (try? daemon.list().first?["state"] as? String) == "sent" }, "\(daemon.logText)")
        #expect(daemon.terminate() == 0)
        let delivered = server.received().flatMap(\.rcpt_tos)
        #expect(Set(delivered).count == delivered.count && !delivered.contains("g0@example.org"))
        let recipients = try #require(try daemon.list().first?["recipients"] as? [[String: Any]])
        let sent = recipients.filter { $0["state"] as? String == "sent" }.compactMap { $0["address"] as? String }
        let failed = recipients.filter { $0["state"] as? String == "failed" }
        #expect(Set(sent) == Set(delivered), "sent means the server took it")
        #expect(sent.count + failed.count == 8 && failed.first?["address"] as? String == "g0@example.org")
        #expect(sent.count < 7, "with lifetime 2s some batches were never tried (\(sent))")
        #expect(failed.allSatisfy { ($0["delay_reason"] as? String)?.hasPrefix("gave up after") == true }, "\(failed)")
    }

    @Test("A settings problem (login refused) never fails a message sent in batches, past delivery.lifetime either",
          .timeLimit(.minutes(2)))
    func settingsProblemWithBatches() async throws {
        let server = try SMTPTestServer(arguments: ["--auth-user", "xnat", "--auth-password", "right"])
        let daemon = DaemonUnderTest()
        daemon.configure(
            smtp: ["host: 127.0.0.1", "port: \(server.port)", "auth: true", "username: xnat", "password: wrong"],
            extra: "delivery:\n  max_recipients_per_transaction: 2\n  first_retry: 1s\n  max_retry_delay: 1s\n"
                + "  lifetime: 2s\n")
        try await daemon.start()
        let addresses = (0..<5).map { "s\($0)@example.org" }
        try daemon.drop("five.eml",
                        "From: admin@example.org\nTo: \(addresses.joined(separator: ", "))\nSubject: s\n\nx\n")
        // Four attempts at least a second apart: well past the 2 s lifetime.
        #expect(await eventually { ((try? daemon.list().first?["attempts"] as? Int) ?? 0) >= 4 }, "\(daemon.logText)")
        let entry = try #require(try daemon.list().first)
        #expect(entry["state"] as? String == "deferred", "our settings are wrong, not the mail: kept and retried")
        let recipients = try #require(entry["recipients"] as? [[String: Any]])
        #expect(recipients.count == 5 && recipients.allSatisfy { $0["state"] as? String == "queued" }, "\(recipients)")
        #expect(server.received().isEmpty)
        #expect(daemon.terminate() == 0)
    }

    @Test("A setting outside 1–10000 is refused at start (exit 78)")
    func badSetting() throws {
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false"], extra: "delivery:\n  max_recipients_per_transaction: 0\n")
        let result = try run(Paths.outboxd, ["--config", daemon.configPath])
        #expect(result.status == 78)
        #expect(result.stderr == "outboxd: \(daemon.configPath): delivery.max_recipients_per_transaction: must be from 1 to 10000, got 0\n")
    }
}
