import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Spool files the daemon took but cannot remove, and files still open for writing (issue 17):
/// an unremovable file is reported once and never queued twice, not even after its message was
/// purged; a file a writer holds open is never taken before the writer closes it.
@Suite("Kept spool files and open writers end to end", .serialized, .timeLimit(.minutes(5)))
struct SpoolKeepTests {
    /// A daemon whose spool directories exist, not started yet (files can be put in place first).
    func preparedDaemon(_ server: SMTPTestServer) throws -> DaemonUnderTest {
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"], extra: "  rescan_interval: 1s\n")
        for directory in ["", "/new", "/tmp", "/failed"] {
            try FileManager.default.createDirectory(atPath: daemon.spool + directory, withIntermediateDirectories: true)
        }
        return daemon
    }

    /// `chattr +i` / `-i`: an immutable file cannot be removed, even by root.
    func setImmutable(_ path: String, _ immutable: Bool) throws {
        let result = try run("/usr/bin/chattr", [immutable ? "+i" : "-i", path])
        guard result.status == 0 else { throw TestFailure("chattr failed: \(result.stderr)") }
    }

    /// The messages the server got with `Subject: <subject>`.
    func received(_ server: SMTPTestServer, subject: String) -> Int {
        server.received().filter { $0.data.contains("Subject: \(subject)\r\n") || $0.data.contains("Subject: \(subject)\n") }.count
    }

    func message(_ subject: String) -> String { "From: app@example.org\nTo: kept@example.org\nSubject: \(subject)\n\n\(subject)\n" }

    /// Drops a message and waits until it was delivered: one more scan has run.
    func roundTrip(_ daemon: DaemonUnderTest, _ server: SMTPTestServer, _ subject: String) async throws {
        try daemon.drop(subject + ".eml", message(subject))
        #expect(await eventually { received(server, subject: subject) == 1 }, "\(daemon.logText)")
    }

    @Test("A queued file that cannot be removed is reported once, never queued again (not after a purge, not after a restart), and removed once it can be")
    func unremovableQueuedFile() async throws {
        let server = try SMTPTestServer()
        let daemon = try preparedDaemon(server)
        let kept = daemon.spool + "/new/kept.eml"
        _ = FileManager.default.createFile(atPath: kept, contents: Data(message("kept").utf8))
        try setImmutable(kept, true)
        defer { try? setImmutable(kept, false) }
        try await daemon.start()
        defer { daemon.terminate() }
        #expect(await eventually { received(server, subject: "kept") == 1 }, "\(daemon.logText)")
        let warning = "Cannot remove a queued spool file from new/"
        #expect(await eventually { daemon.occurrences(of: warning) == 1 }, "\(daemon.logText)")
        let socket = try #require(daemon.notify)
        #expect(await eventually { socket.statuses.last?.contains("1 spool file could not be removed") == true }, "\(socket.statuses)")

        // Several scans, then the sent message purged (its spool name is free in the message table).
        for round in 1...3 { try await roundTrip(daemon, server, "before-purge-\(round)") }
        #expect(await eventually { (try? daemon.list())?.allSatisfy { $0["state"] as? String == "sent" } == true })
        let purge = try run(Paths.outbox, ["purge", "--state", "sent", "--older-than", "0s", "--config", daemon.configPath])
        #expect(purge.status == 0, "\(purge.stderr)")
        #expect(try daemon.list().isEmpty, "the sent messages are purged")
        for round in 1...3 { try await roundTrip(daemon, server, "after-purge-\(round)") }
        try await Task.sleep(for: .seconds(2))  // beyond the settle time and a rescan
        #expect(received(server, subject: "kept") == 1, "never queued again after the purge")

        // A restart reads what is kept from the queue: not taken, not reported again.
        daemon.terminate()
        try await daemon.start()
        try await roundTrip(daemon, server, "after-restart")
        try await Task.sleep(for: .seconds(2))
        #expect(received(server, subject: "kept") == 1, "never queued again after a restart")
        #expect(daemon.occurrences(of: warning) == 1, "reported once")
        #expect(FileManager.default.fileExists(atPath: kept))

        // Removable again: the next rescan removes it, and STATUS stops mentioning it.
        try setImmutable(kept, false)
        #expect(await eventually { !FileManager.default.fileExists(atPath: kept) }, "\(daemon.logText)")
        #expect(await eventually { socket.statuses.last.map { !$0.contains("could not be removed") } == true }, "\(socket.statuses)")
        #expect(daemon.occurrences(of: "Kept spool file removed at last") == 1)
        // Its name is free again: a new file of that name is a new message.
        try daemon.drop("kept.eml", message("kept"))
        #expect(await eventually { received(server, subject: "kept") == 2 }, "\(daemon.logText)")
    }

    @Test("A rejected file copied to failed/ that cannot be removed is reported once, not at every scan")
    func unremovableRejectedFile() async throws {
        let server = try SMTPTestServer()
        let daemon = try preparedDaemon(server)
        let bad = daemon.spool + "/new/bad.eml"
        _ = FileManager.default.createFile(atPath: bad, contents: Data("Subject: no recipients\n\nbody\n".utf8))
        try setImmutable(bad, true)
        defer { try? setImmutable(bad, false) }
        try await daemon.start()
        defer { daemon.terminate() }
        #expect(await eventually { FileManager.default.fileExists(atPath: daemon.spool + "/failed/bad.eml.error") }, "\(daemon.logText)")
        for round in 1...4 { try await roundTrip(daemon, server, "scan-\(round)") }
        try await Task.sleep(for: .seconds(3))  // three rescans
        #expect(daemon.occurrences(of: "cannot be removed from new/") == 1, "\(daemon.logText)")
        #expect(daemon.occurrences(of: "Spool file rejected") == 1, "\(daemon.logText)")
        #expect(FileManager.default.fileExists(atPath: bad))
        try setImmutable(bad, false)
        #expect(await eventually { !FileManager.default.fileExists(atPath: bad) }, "\(daemon.logText)")
        #expect(daemon.occurrences(of: "Spool file rejected") == 1)
    }

    @Test("A file a writer holds open in new/ when the daemon starts is not taken until it is closed, then sent whole")
    func writerHoldsFileOpenAcrossStart() async throws {
        let server = try SMTPTestServer()
        let daemon = try preparedDaemon(server)
        let path = daemon.spool + "/new/held.eml"
        // O_CLOEXEC: children that other tests spawn meanwhile must not inherit (and keep open) the writer's file.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        try #require(fd >= 0)
        var closed = false
        defer { if !closed { close(fd) } }
        func write(_ text: String) { _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) } }
        let head = "From: app@example.org\nTo: held@example.org\nSubject: held\n\n"
        let firstHalf = (1...200).map { "first half line \($0)\n" }.joined()
        let secondHalf = (1...200).map { "second half line \($0)\n" }.joined() + "END OF BODY\n"
        write(head + firstHalf)
        // Found at startup without any event: only the kernel can tell that its writer is still there.
        try await daemon.start()
        defer { daemon.terminate() }
        try await roundTrip(daemon, server, "other")
        try await Task.sleep(for: .seconds(3))  // three times the settle time, with rescans
        #expect(received(server, subject: "held") == 0, "nothing is sent while the writer holds the file open")
        #expect(FileManager.default.fileExists(atPath: path), "the open file stays in new/")
        write(secondHalf)
        close(fd)
        closed = true
        #expect(await eventually { received(server, subject: "held") == 1 }, "\(daemon.logText)")
        let data = try #require(server.received().first { $0.data.contains("Subject: held") }?.data)
        let body = String(try #require(data.range(of: "\r\n\r\n").map { data[$0.upperBound...] }))
        #expect(body.replacingOccurrences(of: "\r\n", with: "\n") == firstHalf + secondHalf, "byte for byte")
        #expect(!daemon.logText.contains("rejected"))
    }
}
