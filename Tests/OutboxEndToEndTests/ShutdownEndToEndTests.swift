import Foundation
import Testing

/// `systemctl stop` is SIGTERM: stop claiming, let the send in flight finish, exit 0.
@Suite("outboxd graceful stop", .timeLimit(.minutes(3)))
struct ShutdownEndToEndTests {
    @Test("SIGTERM during a send lets it finish: the server gets the message once, it is recorded sent, exit 0")
    func inFlightSendFinishes() async throws {
        let scratch = Scratch()
        let received = scratch.file("received")
        let portFile = scratch.file("port")
        // Holds its reply to the final dot for 3 s, so the send is surely in flight when SIGTERM comes.
        let server = try ChildProcess(
            "/usr/bin/python3",
            [Paths.smtpServerScript, "--quiet", "--port", "0", "--port-file", portFile, "--out", received,
             "--data-delay", "3"],
            outputPath: scratch.file("smtp-server.log"))
        defer {
            server.signal(SIGTERM)
            server.wait()
        }
        #expect(await eventually { FileManager.default.fileExists(atPath: portFile) })
        let port = try #require(Int(try String(contentsOfFile: portFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))

        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(port)"])
        try await daemon.start()
        try daemon.drop("1.eml", "From: a@example.org\nTo: b@example.org\nSubject: in flight\n\nbody\n")
        #expect(await eventually { (try? daemon.list().first?["in_flight"] as? Bool) == true }, "\(daemon.logText)")

        #expect(daemon.terminate() == 0, "SIGTERM with a send in flight still ends outboxd with status 0")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: received)) ?? []
        #expect(files.filter { $0.hasSuffix(".json") }.count == 1, "the send finished before the daemon exited")
        let entry = try #require(try daemon.list().first)
        #expect(entry["state"] as? String == "sent", "\(entry)")
        #expect(entry["in_flight"] as? Bool == false)
    }
}
