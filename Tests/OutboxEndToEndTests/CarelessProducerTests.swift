import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Producers that write straight into `new/` instead of renaming a finished file in (issue 17,
/// finding 1): every message arrives whole, or stays where it is; none is sent short or lost.
@Suite("Careless producers end to end", .serialized, .timeLimit(.minutes(5)))
struct CarelessProducerTests {
    func startDaemon(_ server: SMTPTestServer) async throws -> DaemonUnderTest {
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        return daemon
    }

    @Test("A message written slowly in place is sent whole, only after its writer closed it")
    func slowWriterInPlace() async throws {
        let server = try SMTPTestServer()
        let daemon = try await startDaemon(server)
        defer { daemon.terminate() }
        let path = daemon.spool + "/new/slow.eml"
        // O_CLOEXEC: children that other tests spawn meanwhile must not inherit (and keep open) the writer's file.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        try #require(fd >= 0)
        func write(_ text: String) { _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) } }
        write("From: app@example.org\nTo: slow@example.org\nSubject: slow\n\n")
        // Pauses longer than the settle time, with the file open all along.
        for part in 1...3 {
            try await Task.sleep(for: .milliseconds(1500))
            write("part \(part) of the body\n")
        }
        write("END OF BODY\n")
        // Another message, renamed in, is taken by a scan that lists new/ with slow.eml still open.
        try daemon.drop("other.eml", "From: app@example.org\nTo: other@example.org\nSubject: other\n\nother\n")
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        #expect(server.received().map(\.rcpt_tos) == [["other@example.org"]], "nothing is sent while the writer holds the file open")
        #expect(FileManager.default.fileExists(atPath: path), "the open file stays in new/")
        close(fd)
        #expect(await eventually { server.received().count == 2 }, "\(daemon.logText)")
        let data = try #require(server.received().last?.data)
        #expect(data.contains("part 1 of the body") && data.contains("part 3 of the body") && data.contains("END OF BODY"))
        #expect(server.received().map(\.rcpt_tos) == [["other@example.org"], ["slow@example.org"]])
    }

    @Test("cp of large files straight into new/: each is sent byte for byte, none quarantined as empty")
    func copiesOfALargeFile() async throws {
        let server = try SMTPTestServer()
        let daemon = try await startDaemon(server)
        defer { daemon.terminate() }
        // ~4 MB of body lines, the last one a marker: a short read would lose it.
        var text = "From: app@example.org\nTo: big@example.org\nSubject: big\n\n"
        let line = String(repeating: "0123456789", count: 7) + "\n"
        text += String(repeating: line, count: 4 * 1024 * 1024 / line.utf8.count)
        text += "LAST LINE\n"
        let source = daemon.scratch.file("big.eml")
        FileManager.default.createFile(atPath: source, contents: Data(text.utf8))
        let copies = 4
        let processes = try (1...copies).map { number in
            try ChildProcess("/bin/cp", [source, daemon.spool + "/new/big\(number).eml"], outputPath: daemon.scratch.file("cp\(number).log"))
        }
        for process in processes { #expect(process.wait() == 0) }
        #expect(await eventually(timeout: .seconds(60)) { server.received().count == copies }, "\(daemon.logText)")
        for message in server.received() {
            #expect(message.data.hasSuffix("LAST LINE\r\n") || message.data.hasSuffix("LAST LINE\n"))
            #expect(message.data.utf8.count >= text.utf8.count)
        }
        let failed = (try? FileManager.default.contentsOfDirectory(atPath: daemon.spool + "/failed")) ?? []
        #expect(failed.isEmpty, "nothing quarantined: \(failed)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: daemon.spool + "/new")) ?? []
        #expect(left.isEmpty)
    }

    @Test("A spool directory moved away under the daemon is recreated and watched again at once, without a reload")
    func recreatedSpool() async throws {
        let server = try SMTPTestServer()
        let daemon = try await startDaemon(server)
        defer { daemon.terminate() }
        // An admin's restore or cleanup: the whole spool moved away (no event on new/ says so).
        try FileManager.default.moveItem(atPath: daemon.spool, toPath: daemon.spool + ".old")
        #expect(await eventually(timeout: .seconds(10)) { FileManager.default.fileExists(atPath: daemon.spool + "/new") },
                "\(daemon.logText)")
        #expect(daemon.logText.contains("watching it again"))
        try daemon.drop("after.eml", "From: app@example.org\nTo: after@example.org\nSubject: after\n\nafter\n")
        // Well within the 30 s rescan: only a new watch sees the file this soon.
        #expect(await eventually(timeout: .seconds(10)) { server.received().count == 1 }, "\(daemon.logText)")
    }
}
