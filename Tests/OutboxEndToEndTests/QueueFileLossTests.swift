import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The queue file removed while outboxd runs (issue 17, finding 4): nothing is lost.
@Suite("A queue file removed under the daemon", .serialized, .timeLimit(.minutes(3)))
struct QueueFileLossTests {
    @Test("rm of the queue file: intake stops, unsent mail goes back to the spool, outboxd exits 75; the restart delivers all of it")
    func removedQueueFile() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        // Delivery off first, so the messages wait in the queue when the file goes.
        daemon.configure(smtp: ["enabled: false", "host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        for number in 1...3 {
            try daemon.drop("m\(number).eml", "From: app@example.org\nTo: r\(number)@example.org, s\(number)@example.org\nSubject: m\(number)\n\nbody \(number)\n")
        }
        let newDirectory = daemon.spool + "/new"
        func spoolNames() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: newDirectory)) ?? []).sorted() }
        #expect(await eventually { spoolNames().isEmpty && daemon.occurrences(of: "Message queued") == 3 }, "\(daemon.logText)")

        for suffix in ["", "-wal", "-shm"] { unlink(daemon.database + suffix) }
        let process = try #require(daemon.process)
        #expect(await eventually(timeout: .seconds(30)) { !process.isRunning }, "outboxd keeps running: \(daemon.logText)")
        #expect(process.wait() == 75, "EX_TEMPFAIL, so systemd restarts it")
        #expect(daemon.logText.contains("The queue file is gone"))
        let recovered = spoolNames()
        #expect(recovered.count == 3 && recovered.allSatisfy { $0.hasPrefix("recovered-") }, "\(recovered)")

        // A producer's file arriving now waits in new/ too.
        try daemon.drop("late.eml", "From: app@example.org\nTo: late@example.org\nSubject: late\n\nlate\n")
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        defer { daemon.terminate() }
        #expect(await eventually { server.received().count == 4 }, "\(daemon.logText)")
        let received = server.received()
        let envelopes = Set(received.map { $0.rcpt_tos.sorted().joined(separator: ",") })
        #expect(envelopes == ["r1@example.org,s1@example.org", "r2@example.org,s2@example.org",
                              "r3@example.org,s3@example.org", "late@example.org"])
        #expect(received.allSatisfy { $0.mail_from == "app@example.org" })
        #expect(received.allSatisfy { !$0.data.contains("X-Outbox-Envelope") })
        #expect(try await eventually { try daemon.list().count == 4 })
    }
}
