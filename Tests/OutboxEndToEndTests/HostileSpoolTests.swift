import Foundation
import Testing

/// Issue 14's hostile spool entries against the real daemon: one bad file must never stop the mail.
@Suite("Hostile spool entries", .serialized, .timeLimit(.minutes(2)))
struct HostileSpoolTests {
    /// Creates `new/NAME` from raw name bytes (a name need not be UTF-8), through tmp/.
    func dropRaw(_ daemon: DaemonUnderTest, name: [UInt8], content: String) throws {
        let temporary = daemon.spool + "/tmp/raw.\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: temporary, contents: Data(content.utf8))
        let target = (Array((daemon.spool + "/new/").utf8) + name + [0]).map { CChar(bitPattern: $0) }
        guard rename(temporary, target) == 0 else { throw TestFailure("rename: \(String(cString: strerror(errno)))") }
    }

    func modificationTime(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    @Test("A sparse 2 GB file in new/ (finding 3) leaves a 64 KB excerpt in failed/, not 2 GB; the mail beside it goes out")
    func sparseFile() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        let temporary = daemon.spool + "/tmp/big.eml"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o640)
        #expect(fd >= 0)
        _ = "From: a@example.org\nTo: b@example.org\n\n".withCString { write(fd, $0, strlen($0)) }
        #expect(ftruncate(fd, 2 << 30) == 0)  // 2 GiB, no blocks
        close(fd)
        rename(temporary, daemon.spool + "/new/big.eml")
        try daemon.drop("good.eml", "From: a@example.org\nTo: b@example.org\nSubject: beside\n\nx\n")

        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        let failed = daemon.spool + "/failed/"
        #expect(await eventually { FileManager.default.fileExists(atPath: failed + "big.eml.error") })
        let reason = try String(contentsOfFile: failed + "big.eml.error", encoding: .utf8)
        #expect(reason == "the message is 2147483648 bytes, over spool.max_message_size (26214400) (failed/ keeps its first 65536 bytes)\n")
        let copy = try FileManager.default.attributesOfItem(atPath: failed + "big.eml")
        #expect((copy[.size] as? Int) == 65_536)
        #expect(!FileManager.default.fileExists(atPath: daemon.spool + "/new/big.eml"))
        #expect(daemon.terminate() == 0)
    }

    @Test("Entries that cannot be moved to failed/ are reported once, not on every scan, and never hold mail back (finding 4)")
    func unmovableEntries() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"], extra: "  rescan_interval: 1s\n")
        try await daemon.start()
        // A producer's directory with something in it: it cannot be removed, and moving it would
        // give failed/ a directory the producer still writes to. Made in tmp/ and renamed in whole:
        // made in place, the daemon may find it still empty and remove it before `sub` exists.
        try FileManager.default.createDirectory(atPath: daemon.spool + "/tmp/dir.eml/sub", withIntermediateDirectories: true)
        #expect(rename(daemon.spool + "/tmp/dir.eml", daemon.spool + "/new/dir.eml") == 0)
        try daemon.drop("good.eml", "From: a@example.org\nTo: b@example.org\nSubject: not held back\n\nx\n")
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        let failed = daemon.spool + "/failed/"
        #expect(await eventually { FileManager.default.fileExists(atPath: failed + "dir.eml.error") })
        let written = modificationTime(failed + "dir.eml.error")
        let scansBefore = daemon.occurrences(of: "Cannot move a rejected spool file")

        // Several scans later (each later message is taken by a scan that lists new/, dir.eml too): still
        // one report, the reason file untouched, the entry still there.
        for later in 2...4 {
            try daemon.drop("later\(later).eml", "From: a@example.org\nTo: b@example.org\nSubject: after\n\nx\n")
            #expect(await eventually { server.received().count == later }, "\(daemon.logText)")
        }
        #expect(scansBefore == 1)
        #expect(daemon.occurrences(of: "Cannot move a rejected spool file") == 1, "\(daemon.logText)")
        #expect(modificationTime(failed + "dir.eml.error") == written)
        #expect(try String(contentsOfFile: failed + "dir.eml.error", encoding: .utf8)
            == "not a regular file (a directory, FIFO or device in new/) (it is not empty, so it stays in new/: remove it)\n")
        #expect(FileManager.default.fileExists(atPath: daemon.spool + "/new/dir.eml/sub"))
        #expect(!FileManager.default.fileExists(atPath: failed + "dir.eml"), "no producer directory in failed/")

        // An empty directory is simply removed, with its reason.
        try FileManager.default.createDirectory(atPath: daemon.spool + "/new/empty.eml", withIntermediateDirectories: false)
        #expect(await eventually { FileManager.default.fileExists(atPath: failed + "empty.eml.error") })
        #expect(!FileManager.default.fileExists(atPath: daemon.spool + "/new/empty.eml"))
        #expect(daemon.isRunning)
        #expect(daemon.terminate() == 0)
    }

    @Test("Names are bytes: 0xFF, a newline and ESC, 250 bytes, a producer's NAME.error — each quarantined under a safe name, logged escaped")
    func namesAsBytes() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        let mail = "From: a@example.org\nTo: b@example.org\nSubject: s\n\nx\n"
        try dropRaw(daemon, name: [0xFF] + Array("ff.eml".utf8), content: mail)
        try dropRaw(daemon, name: Array("bad\n\u{1B}[31mred.eml".utf8), content: mail)
        let long = String(repeating: "n", count: 246) + ".eml"
        try daemon.drop(long, "not a message\n")
        try daemon.drop("x.eml.error", "forged reason\n")
        try daemon.drop("x.eml", "not a message either\n")
        try daemon.drop("good.eml", mail)

        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        let failed = daemon.spool + "/failed/"
        #expect(await eventually { (try? FileManager.default.contentsOfDirectory(atPath: failed).count) == 10 },
                "\((try? FileManager.default.contentsOfDirectory(atPath: failed)) ?? [])")
        let names = try FileManager.default.contentsOfDirectory(atPath: failed)
        #expect(names.contains("\\xFFff.eml") && names.contains("\\xFFff.eml.error"), "\(names)")
        #expect(names.contains("bad\\x0A\\x1B[31mred.eml.error"), "\(names)")
        let reason = try String(contentsOfFile: failed + "\\xFFff.eml.error", encoding: .utf8)
        #expect(reason.hasPrefix("the file name is not printable UTF-8"))
        let longCopy = try #require(names.first { $0.hasPrefix("nnnn") && !$0.hasSuffix(".error") })
        #expect(longCopy.utf8.count <= 200 && names.contains(longCopy + ".error"), "\(names)")
        #expect(try String(contentsOfFile: failed + "x.eml.error", encoding: .utf8).hasPrefix("not an RFC 5322 message"))
        #expect(try String(contentsOfFile: failed + "x.eml.error~", encoding: .utf8) == "forged reason\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.spool + "/new").isEmpty)
        #expect(!daemon.logText.contains("\u{1B}"), "no raw ESC in the log")
        #expect(daemon.logText.contains("bad\\x0A\\x1B[31mred.eml"))
        #expect(daemon.terminate() == 0)
    }

    @Test("sendmail drops X-Outbox-Envelope-* from its input (finding 5), with -i and with -t; enqueue refuses deep MIME")
    func sendmailStripsEnvelopeFields() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)", "from: site@example.org"])
        try await daemon.start()
        let smuggled = "X-Outbox-Envelope-To: mallory@example.org\nX-Outbox-Envelope-From: forged@example.org\n"
        let withArguments = try run(
            Paths.outbox, ["sendmail", "--config", daemon.configPath, "-i", "alice@example.org"],
            stdin: smuggled + "From: web@example.org\nSubject: via -i\n\nhello\n")
        #expect(withArguments.status == 0, "\(withArguments.stderr)")
        let withT = try run(
            Paths.outbox, ["sendmail", "--config", daemon.configPath, "-t", "-i"],
            stdin: smuggled + "From: web@example.org\nTo: bob@example.org\nSubject: via -t\n\nhello\n")
        #expect(withT.status == 0, "\(withT.stderr)")

        #expect(await eventually { server.received().count == 2 }, "\(daemon.logText)")
        let received = server.received()
        let viaI = try #require(received.first { $0.data.contains("Subject: via -i") })
        #expect(viaI.rcpt_tos == ["alice@example.org"])
        #expect(viaI.mail_from == "web@example.org")
        let viaT = try #require(received.first { $0.data.contains("Subject: via -t") })
        #expect(viaT.rcpt_tos == ["bob@example.org"])
        #expect(received.allSatisfy { !$0.data.lowercased().contains("x-outbox-envelope") })

        var deep = "From: a@example.org\nTo: b@example.org\n"
        for level in 0..<3_000 { deep += "Content-Type: multipart/mixed; boundary=\"b\(level)\"\n\n--b\(level)\n" }
        deep += "\nx\n"
        let refused = try run(Paths.outbox, ["enqueue", "--config", daemon.configPath, "--format", "eml", "-"], stdin: deep)
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("MIME parts are nested more than 100 levels deep"), "\(refused.stderr)")
        #expect(daemon.terminate() == 0)
    }

    @Test("outbox show prints header control characters escaped, never raw to the admin's terminal (finding 8)")
    func showEscapesControlCharacters() async throws {
        let rejecting = try SMTPTestServer(arguments: ["--reject-rcpt", "erin@example.org=550"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(rejecting.port)"])
        try await daemon.start()
        try daemon.drop("esc.eml", "From: a@example.org\nTo: erin@example.org\nSubject: \u{1B}]0;owned\u{07}\u{1B}[2Jclear\n\nx\n")
        #expect(await eventually { CLITests.state(daemon, recipient: "erin@example.org") == "failed" }, "\(daemon.logText)")
        let id = try CLITests.id(daemon, recipient: "erin@example.org")
        let show = try CLITests.outbox(daemon, ["show", id])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(!show.stdout.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(show.stdout.debugDescription)")
        #expect(show.stdout.contains("  Subject: \\x1B]0;owned\\x07\\x1B[2Jclear\n"), "\(show.stdout)")
        #expect(daemon.terminate() == 0)
    }
}
