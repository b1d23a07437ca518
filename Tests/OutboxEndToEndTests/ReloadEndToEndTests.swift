import Foundation
import Testing

/// `systemctl reload` is SIGHUP: the real outboxd re-reads its configuration without restarting.
@Suite("outboxd reload", .timeLimit(.minutes(3)))
struct ReloadEndToEndTests {
    static func message(_ subject: String) -> String {
        "From: xnat@example.org\nTo: alice@example.org\nSubject: \(subject)\n\nbody\n"
    }

    /// How many times outboxd told systemd it is ready: once at start, then once after each reload
    /// (`RELOADING=1` … `READY=1`, what `systemctl reload` waits for), whether the reload was applied or refused.
    static func readyCount(_ daemon: DaemonUnderTest) -> Int {
        daemon.notify?.receive().filter { $0.split(separator: "\n").contains("READY=1") }.count ?? 0
    }

    @Test(
        "SIGHUP applies a new email_prefix to the next message; an invalid file is refused and the old settings keep working"
    )
    func reload() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)", "email_prefix: OLD"])
        try await daemon.start()
        let process = try #require(daemon.process)
        try daemon.drop("1.eml", Self.message("one"))
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")

        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)", "email_prefix: NEW"])
        process.signal(SIGHUP)
        #expect(await eventually { Self.readyCount(daemon) == 2 }, "\(daemon.logText)")
        #expect(await eventually { daemon.occurrences(of: "Reloaded") == 1 }, "\(daemon.logText)")
        try daemon.drop("2.eml", Self.message("two"))
        #expect(await eventually { server.received().count == 2 }, "\(daemon.logText)")
        #expect(server.received().last?.data.contains("Subject: [NEW] two\r\n") == true)

        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)", "email_prefix: BAD", "no_such_key: 1"])
        process.signal(SIGHUP)
        #expect(await eventually { Self.readyCount(daemon) == 3 }, "\(daemon.logText)")
        #expect(await eventually { daemon.occurrences(of: "Reload refused") == 1 }, "\(daemon.logText)")
        #expect(daemon.logText.contains("smtp.no_such_key"), "the error names the key")
        try daemon.drop("3.eml", Self.message("three"))
        #expect(await eventually { server.received().count == 3 }, "\(daemon.logText)")
        #expect(server.received().last?.data.contains("Subject: [NEW] three\r\n") == true)
        #expect(daemon.isRunning)
        #expect(daemon.terminate() == 0, "SIGTERM after reloads still ends outboxd with status 0")
    }
}
