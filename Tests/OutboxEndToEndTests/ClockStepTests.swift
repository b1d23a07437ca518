import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Wall-clock steps under a running outboxd (issue 17, finding 3), made with the LD_PRELOAD shim
/// scripts/clock-shift.c: no message sent twice, none stranded, none failed by a fake lifetime.
@Suite("Wall-clock steps end to end", .serialized, .timeLimit(.minutes(4)))
struct ClockStepTests {
    static let sixDays = 6 * 86_400

    /// Builds the shim into the scratch directory and points the daemon at an offset file.
    static func shiftable(_ daemon: DaemonUnderTest) throws -> String {
        let library = daemon.scratch.file("clock-shift.so")
        let source = Paths.packageRoot.appendingPathComponent("scripts/clock-shift.c").path
        let compiler = try ChildProcess("/usr/bin/cc", ["-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"],
                                        outputPath: daemon.scratch.file("cc.log"))
        guard compiler.wait() == 0 else {
            throw TestFailure("cannot build the clock shim: \((try? String(contentsOfFile: daemon.scratch.file("cc.log"), encoding: .utf8)) ?? "")")
        }
        let offset = daemon.scratch.file("clock-offset")
        FileManager.default.createFile(atPath: offset, contents: Data("0\n".utf8))
        daemon.environment = ["LD_PRELOAD": library, "OUTBOX_CLOCK_OFFSET_FILE": offset]
        return offset
    }

    static func step(_ offsetFile: String, seconds: Int) {
        FileManager.default.createFile(atPath: offsetFile, contents: Data("\(seconds)\n".utf8))
    }

    @Test("A clock stepped six days forward during a send: the message is delivered once, no other worker re-sends it")
    func forwardDuringSend() async throws {
        // The relay holds its reply to the final dot for 4 s: the send is in flight when the clock jumps.
        let server = try SMTPTestServer(arguments: ["--data-delay", "4"])
        let daemon = DaemonUnderTest()
        let offset = try Self.shiftable(daemon)
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"], extra: "delivery:\n  workers: 3\n")
        try await daemon.start()
        defer { daemon.terminate() }
        try daemon.drop("first.eml", "From: app@example.org\nTo: once@example.org\nSubject: first\n\nfirst\n")
        #expect(await eventually { ((try? daemon.list()) ?? []).count == 1 }, "\(daemon.logText)")
        try await Task.sleep(for: .seconds(1))
        Self.step(offset, seconds: Self.sixDays)
        // A second message wakes the idle workers: each claims what looks due to it.
        try await Task.sleep(for: .milliseconds(500))
        try daemon.drop("second.eml", "From: app@example.org\nTo: other@example.org\nSubject: second\n\nsecond\n")
        #expect(await eventually { server.received().count >= 2 }, "\(daemon.logText)")
        try await Task.sleep(for: .seconds(6))  // a duplicate would have arrived by now
        let recipients = server.received().flatMap(\.rcpt_tos).sorted()
        #expect(recipients == ["once@example.org", "other@example.org"], "each delivered once")
        #expect(!daemon.logText.contains("lease lost"))
        #expect(daemon.logText.contains("The wall clock was stepped"))
    }

    @Test("A clock stepped six days back: deferred mail is retried at once, not in six days")
    func backWithDeferredMail() async throws {
        let server = try SMTPTestServer(arguments: ["--fail-data", "451"])
        let daemon = DaemonUnderTest()
        let offset = try Self.shiftable(daemon)
        // The first retry an hour away: only the step-back rule can make it due during the test.
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"], extra: "delivery:\n  first_retry: 1h\n")
        try await daemon.start()
        defer { daemon.terminate() }
        try daemon.drop("m.eml", "From: app@example.org\nTo: later@example.org\nSubject: m\n\nm\n")
        func attempts() -> Int { ((try? daemon.list())?.first?["attempts"] as? Int) ?? 0 }
        #expect(await eventually { attempts() == 1 }, "\(daemon.logText)")
        Self.step(offset, seconds: -Self.sixDays)
        #expect(await eventually(timeout: .seconds(60)) { attempts() >= 2 }, "retried after the step back: \(daemon.logText)")
        #expect((try daemon.list().first?["state"] as? String) == "deferred", "still kept, not failed")
    }
}
