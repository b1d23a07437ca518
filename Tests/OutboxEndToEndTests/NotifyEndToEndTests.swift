import Foundation
import Glibc
import Testing

/// What the real outboxd tells the service manager over `$NOTIFY_SOCKET` (sd_notify), read from a
/// datagram socket the test binds, as systemd's would be.
@Suite("outboxd sd_notify protocol", .timeLimit(.minutes(3)))
struct NotifyEndToEndTests {
    @Test("READY with STATUS, WATCHDOG pings, RELOADING with MONOTONIC_USEC then READY on SIGHUP, STOPPING on SIGTERM; never the password")
    func protocolSequence() async throws {
        let daemon = DaemonUnderTest()
        let socket = try NotifySocket(path: daemon.scratch.file("notify"))
        let secret = "hunter2-not-in-status"
        let smtp = ["host: 127.0.0.1", "port: 9", "auth: true", "username: xnat", "password: \(secret)"]
        daemon.configure(smtp: smtp + ["email_prefix: ONE"])
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = socket.path
        environment["WATCHDOG_USEC"] = "1000000"  // pings every 0.5 s
        environment.removeValue(forKey: "WATCHDOG_PID")
        let process = try ChildProcess(
            Paths.outboxd, ["--config", daemon.configPath], environment: environment, outputPath: daemon.logPath)
        defer {
            process.signal(SIGKILL)
            process.wait()
        }

        var messages: [String] = []
        func received(_ predicate: (String) -> Bool) async -> Bool {
            await eventually {
                messages += socket.drain()
                return messages.contains(where: predicate)
            }
        }
        #expect(await received { $0.hasPrefix("READY=1\nSTATUS=127.0.0.1:9 · 0 queued") }, "\(messages) \(daemon.logText)")
        #expect(await received { _ in messages.filter { $0 == "WATCHDOG=1" }.count >= 3 }, "\(messages)")

        let readyBefore = messages.filter { $0.hasPrefix("READY=1") }.count
        daemon.configure(smtp: smtp + ["email_prefix: TWO"])
        process.signal(SIGHUP)
        #expect(await received { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }, "\(messages)")
        let reloading = try #require(messages.first { $0.hasPrefix("RELOADING=1") })
        let usec = try #require(UInt64(reloading.dropFirst("RELOADING=1\nMONOTONIC_USEC=".count)))
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nowUsec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        #expect(usec <= nowUsec && nowUsec - usec < 60_000_000, "MONOTONIC_USEC is CLOCK_MONOTONIC at the reload")
        #expect(await received { _ in
            let reloadIndex = messages.firstIndex { $0.hasPrefix("RELOADING=1") } ?? messages.endIndex
            return messages[reloadIndex...].contains { $0.hasPrefix("READY=1") }
        }, "READY=1 follows RELOADING=1: \(messages)")
        #expect(messages.filter { $0.hasPrefix("READY=1") }.count == readyBefore + 1)

        process.signal(SIGTERM)
        #expect(process.wait() == 0)
        messages += socket.drain()
        #expect(messages.contains { $0.hasPrefix("STOPPING=1") }, "\(messages)")
        #expect(!messages.contains { $0.contains(secret) }, "the password never reaches the service manager")
        #expect(!daemon.logText.contains(secret), "nor the log")
    }
}
