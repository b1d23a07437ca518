import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Producers, end to end: .json spool files, `outbox enqueue`, `sendmail`, the Java example and
/// bad input, with the real outboxd, a real SQLite queue and a real SMTP server on 127.0.0.1.
@Suite("Producers end to end", .serialized, .timeLimit(.minutes(5)))
struct ProducerTests {
    static let attachment: [UInt8] = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }

    /// Writes bytes into tmp/ and renames them into new/, as a producer does; returns the inode.
    @discardableResult
    static func drop(_ daemon: DaemonUnderTest, _ name: String, bytes: [UInt8]) throws -> UInt64 {
        try FileManager.default.createDirectory(atPath: daemon.spool + "/tmp", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: daemon.spool + "/new", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: daemon.spool + "/failed", withIntermediateDirectories: true)
        let temporary = daemon.spool + "/tmp/" + name
        _ = FileManager.default.createFile(
            atPath: temporary, contents: Data(bytes), attributes: [.posixPermissions: 0o640])
        var info = stat()
        stat(temporary, &info)
        guard rename(temporary, daemon.spool + "/new/" + name) == 0 else { throw TestFailure("rename failed") }
        return UInt64(info.st_ino)
    }

    static func json(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object))
    }

    @Test(
        "A .json message with text, html and an attachment arrives as multipart/mixed(alternative, pdf), Bcc only in the envelope"
    )
    func jsonDelivered() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        try Self.drop(
            daemon, "1.json",
            bytes: try Self.json([
                "from": "XNAT <xnat@example.org>", "tos": ["Zoë <zoe@example.org>"], "ccs": "cc@example.org",
                "bccs": ["audit@example.org"], "subject": "Données prêtes", "text": "Bonjour,\nc'est prêt.\n",
                "html": "<p>Bonjour, c'est prêt.</p>\n",
                "attachments": [
                    [
                        "filename": "report.pdf", "content_type": "application/pdf",
                        "content_base64": Data(Self.attachment).base64EncodedString(),
                    ]
                ],
            ]))
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        let message = try #require(server.received().first)
        #expect(message.mail_from == "xnat@example.org")
        #expect(message.rcpt_tos == ["zoe@example.org", "cc@example.org", "audit@example.org"])
        #expect(!message.data.contains("audit@example.org"))
        let summary = try MIMESummary(received: message.data)
        summary.expectWellFormed()
        #expect(summary.structure == "multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf)")
        #expect(summary.header("Subject") == "Données prêtes")
        #expect(summary.header("To") == "Zoë <zoe@example.org>")
        #expect(summary.text(of: "text/plain") == "Bonjour,\nc'est prêt.\n")
        #expect(summary.text(of: "text/html") == "<p>Bonjour, c'est prêt.</p>\n")
        #expect(
            summary.attachment(named: "report.pdf")?["base64"] as? String == Data(Self.attachment).base64EncodedString()
        )
        #expect(summary.header("Message-ID") != nil && summary.header("Date") != nil)
        #expect(daemon.terminate() == 0)
    }

    @Test("Each bad input lands in failed/ with a one-line reason, and the valid file beside them is delivered")
    func badInputQuarantined() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"], extra: "  max_message_size: 4000\n")
        let valid = #"{"from":"x@example.org","tos":"ok@example.org","subject":"valid","text":"fine"}"#
        var notUTF8 = Array(#"{"from":"x@example.org","tos":"a@example.org","text":"caf"#.utf8)
        notUTF8 += [0xE9] + Array(#""}"#.utf8)
        let regular: [(String, [UInt8], String)] = [
            ("truncated.json", Array(#"{"from":"x@example.org","tos":["a@exa"#.utf8), "truncated"),
            ("notjson.json", Array("From: a@example.org\n\nhello".utf8), "not valid JSON"),
            (
                "types.json", Array(#"{"from":"x@example.org","tos":{"a":1}}"#.utf8),
                "field \"tos\" must be a string or a list of strings"
            ),
            ("norecipients.json", Array(#"{"from":"x@example.org","subject":"s","text":"t"}"#.utf8), "no recipients"),
            (
                "badaddress.json",
                Array(#"{"from":"x@example.org","tos":"a@example.org\r\nRCPT TO:<b@example.org>"}"#.utf8),
                "invalid address in tos"
            ),
            ("noat.json", Array(#"{"from":"x@example.org","tos":"alice"}"#.utf8), "it has no @domain"),
            (
                "toolong.json",
                Array(
                    ("{\"from\":\"x@example.org\",\"tos\":\"" + String(repeating: "a", count: 60) + "@"
                        + String(repeating: "b", count: 250) + ".org\"}").utf8), "at most 254"
            ),
            (
                "big.json",
                Array(
                    (#"{"from":"x@example.org","tos":"a@example.org","text":""# + String(repeating: "x", count: 5000)
                        + "\"}").utf8), "over spool.max_message_size"
            ),
            ("latin1.json", notUTF8, "not valid UTF-8"),
            (
                "base64.json",
                Array(
                    #"{"from":"x@example.org","tos":"a@example.org","attachments":[{"filename":"a.pdf","content_base64":"%%%"}]}"#
                        .utf8), "not valid base64"
            ),
            ("unknown.txt", Array("hello".utf8), "must end in .json or .eml"),
        ]
        var inodes: [String: UInt64] = [:]
        for (name, bytes, _) in regular { inodes[name] = try Self.drop(daemon, name, bytes: bytes) }
        try Self.drop(daemon, "valid.json", bytes: Array(valid.utf8))
        let target = daemon.scratch.file("secret.txt")
        _ = FileManager.default.createFile(atPath: target, contents: Data("{}".utf8))
        #expect(symlink(target, daemon.spool + "/new/link.json") == 0)
        #expect(mkfifo(daemon.spool + "/new/fifo.json", 0o640) == 0)
        #expect(mkdir(daemon.spool + "/new/dir.json", 0o750) == 0)
        let special: [(String, String)] = [
            ("link.json", "symbolic link"), ("fifo.json", "not a regular file"), ("dir.json", "not a regular file"),
        ]

        try await daemon.start()
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        #expect(server.received().first?.rcpt_tos == ["ok@example.org"])
        let failed = daemon.spool + "/failed/"
        #expect(
            await eventually {
                (try? FileManager.default.contentsOfDirectory(atPath: daemon.spool + "/new"))?.isEmpty == true
            })
        for (name, bytes, reason) in regular {
            let line = (try? String(contentsOfFile: failed + name + ".error", encoding: .utf8)) ?? ""
            #expect(
                line.contains(reason) && line.hasSuffix("\n") && line.dropLast().allSatisfy { $0 != "\n" },
                "\(name): \(line)")
            // A copy owned by the daemon, not the producer's renamed file: new inode, mode 0640, same bytes.
            var info = stat()
            #expect(stat(failed + name, &info) == 0, "\(name) is kept in failed/")
            #expect(UInt64(info.st_ino) != inodes[name], "\(name) was copied, not renamed")
            #expect(info.st_mode & 0o777 == 0o640)
            #expect(FileManager.default.contents(atPath: failed + name).map(Array.init) == bytes)
        }
        for (name, reason) in special {
            let line = (try? String(contentsOfFile: failed + name + ".error", encoding: .utf8)) ?? ""
            #expect(line.contains(reason), "\(name): \(line)")
        }
        #expect((try? String(contentsOfFile: failed + "link.json.error", encoding: .utf8))?.contains(target) == true)
        #expect(FileManager.default.contents(atPath: target) == Data("{}".utf8), "the link's target is untouched")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: failed + "link.json")) == target)
        let rejections = daemon.occurrences(of: "Spool file rejected")
        #expect(rejections == regular.count + special.count, "each rejection is logged once")
        #expect(daemon.isRunning)
        #expect(daemon.terminate() == 0)
    }

    @Test("A burst of 2000 spool files is all queued, none lost or rejected")
    func burst() async throws {
        let server = try SMTPTestServer()
        let port = server.port
        server.stop()  // nothing listens: every message stays queued/deferred, which is what we count
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(port)"], extra: "delivery:\n  first_retry: 1h\n")
        try await daemon.start()
        let count = 2000
        for index in 0..<count {
            try Self.drop(
                daemon, String(format: "%05d.json", index),
                bytes: try Self.json([
                    "from": "x@example.org", "tos": "r\(index)@example.org", "subject": "burst \(index)", "text": "n",
                ]))
        }
        let clock = ContinuousClock()
        let start = clock.now
        #expect(
            await eventually(timeout: .seconds(240)) {
                (try? FileManager.default.contentsOfDirectory(atPath: daemon.spool + "/new"))?.isEmpty == true
            })
        let entries = try daemon.list()
        print("burst: \(count) files queued in \(clock.now - start) after the last write")
        #expect(entries.count == count)
        #expect(
            Set(entries.compactMap { ($0["recipients"] as? [[String: Any]])?.first?["address"] as? String }).count
                == count)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: daemon.spool + "/failed"))?.isEmpty ?? true)
        #expect(daemon.terminate() == 0, "\(daemon.logText.suffix(4000))")
    }

    @Test("cron's mail to a local user goes to smtp.from, as nullmailer's adminaddr does; without smtp.from it is refused")
    func cronToLocalUser() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)", "from: admin@xnat.example.org"])
        try await daemon.start()
        // What cron runs: sendmail -FCronDaemon -i -B8BITMIME -oem root, with its own header.
        let cronMail = "From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@xnat> /usr/local/bin/backup\n\nbackup done\n"
        let sent = try run(
            Paths.outbox, ["sendmail", "--config", daemon.configPath, "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"],
            stdin: cronMail)
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        let message = try #require(server.received().first)
        #expect(message.mail_from == "admin@xnat.example.org")
        #expect(message.rcpt_tos == ["admin@xnat.example.org"])
        #expect(message.data.contains("Subject: Cron <root@xnat> /usr/local/bin/backup"))
        #expect(message.data.contains("From: root (Cron Daemon)"), "the header stays as cron wrote it")
        daemon.terminate()

        let bare = DaemonUnderTest()
        bare.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        let refused = try run(Paths.outbox, ["sendmail", "--config", bare.configPath, "-i", "root"], stdin: cronMail)
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("local recipient \"root\" has no domain: set smtp.from"), "\(refused.stderr)")
    }

    @Test("outbox enqueue and sendmail -t (a link named sendmail) deliver; bad input is refused with status 65")
    func cliEntries() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        let json =
            #"{"from":"xnat@example.org","tos":"alice@example.org","subject":"enqueued","text":"via enqueue","html":"<b>via enqueue</b>"}"#
        // Before the daemon runs: the spool takes it anyway.
        try FileManager.default.createDirectory(atPath: daemon.spool + "/tmp", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: daemon.spool + "/new", withIntermediateDirectories: true)
        let enqueued = try run(Paths.outbox, ["enqueue", "--config", daemon.configPath, "-"], stdin: json)
        #expect(enqueued.status == 0, "\(enqueued.stderr)")
        let id = enqueued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.hasSuffix(".json") && FileManager.default.fileExists(atPath: daemon.spool + "/new/" + id))

        let refused = try run(
            Paths.outbox, ["enqueue", "--config", daemon.configPath, "--format", "json"],
            stdin: #"{"from":"x@example.org","tos":"nobody"}"#)
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("invalid address in tos"), "\(refused.stderr)")

        let noSpool = try run(
            Paths.outbox, ["enqueue", "--spool", daemon.scratch.file("missing-spool"), "-"], stdin: json)
        #expect(
            noSpool.status == 75 && noSpool.stderr.contains("try again later"),
            "a missing spool is temporary: \(noSpool.stderr)")

        let link = daemon.scratch.file("sendmail")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: Paths.outbox)
        let mail =
            "From: Cron Daemon <root@example.org>\nTo: bob@example.org\nBcc: hidden@example.org\nSubject: cron output\n\nline one\n.\nline after a dot\n"
        let sent = try run(link, ["-t", "-oi", "--config", daemon.configPath, "-B8BITMIME"], stdin: mail)
        #expect(sent.status == 0, "\(sent.stderr)")
        let argumentMail = "Subject: to arguments\n\nhello\n"
        let viaArguments = try run(
            Paths.outbox,
            ["sendmail", "--config", daemon.configPath, "-f", "robot@example.org", "-i", "carol@example.org"],
            stdin: argumentMail)
        #expect(viaArguments.status == 0, "\(viaArguments.stderr)")

        let classic = try run(
            Paths.outbox, ["sendmail", "--config", daemon.configPath, "-f", "classic@example.org", "dave@example.org"],
            stdin: "Subject: classic\n\nkept\n.\nafter the dot\n")
        #expect(classic.status == 0, "\(classic.stderr)")
        let noRecipients = try run(
            Paths.outbox, ["sendmail", "--config", daemon.configPath], stdin: "Subject: x\n\ny\n")
        #expect(noRecipients.status == 64 && noRecipients.stderr.contains("no recipients"), "\(noRecipients.stderr)")

        try await daemon.start()
        #expect(await eventually { server.received().count == 4 }, "\(daemon.logText)")
        let received = server.received()
        let viaEnqueue = try #require(received.first { $0.rcpt_tos == ["alice@example.org"] })
        let summary = try MIMESummary(received: viaEnqueue.data)
        #expect(summary.structure == "multipart/alternative(text/plain,text/html)")
        let viaSendmail = try #require(received.first { $0.mail_from == "root@example.org" })
        #expect(viaSendmail.rcpt_tos == ["bob@example.org", "hidden@example.org"])
        #expect(viaSendmail.data.contains("\r\nline one\r\n.\r\nline after a dot\r\n"), "-oi keeps a lone dot")
        #expect(!viaSendmail.data.contains("hidden@example.org"))
        let toArguments = try #require(received.first { $0.mail_from == "robot@example.org" })
        #expect(toArguments.rcpt_tos == ["carol@example.org"])
        #expect(!toArguments.data.contains("X-Outbox-Envelope"))
        #expect(toArguments.data.contains("From: robot@example.org\r\n"))
        let classicMail = try #require(received.first { $0.mail_from == "classic@example.org" })
        #expect(
            classicMail.data.hasSuffix("\r\n\r\nkept\r\n"),
            "without -i a lone dot ends the message: \(classicMail.data)")
        #expect(daemon.terminate() == 0)
    }

    @Test("The Java example, compiled with javac, writes a message that is delivered with the right MIME structure")
    func javaProducer() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        let classes = daemon.scratch.file("classes")
        let source = Paths.packageRoot.appendingPathComponent("examples/java/OutboxSpool.java").path
        let compiled = try run("/usr/bin/javac", ["-d", classes, source])
        #expect(compiled.status == 0, "javac: \(compiled.stderr)")
        let pdf = daemon.scratch.file("scan.pdf")
        _ = FileManager.default.createFile(atPath: pdf, contents: Data(Self.attachment))
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C.UTF-8"
        let written = try run(
            "/usr/bin/java",
            [
                "-Dfile.encoding=UTF-8", "-Dsun.jnu.encoding=UTF-8", "-cp", classes, "OutboxSpool", "--spool",
                daemon.spool,
                "--from", "xnat@example.org", "--to", "Åsa <asa@example.org>", "--bcc", "audit@example.org",
                "--subject", "Session archived", "--text", "Your session is archived.", "--html",
                "<p>Your session is archived.</p>",
                "--attach", pdf,
            ], environment: environment)
        #expect(written.status == 0, "java: \(written.stderr)")
        #expect(written.stdout.hasSuffix(".json\n"))

        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        let message = try #require(server.received().first)
        #expect(message.rcpt_tos == ["asa@example.org", "audit@example.org"])
        let summary = try MIMESummary(received: message.data)
        summary.expectWellFormed()
        #expect(summary.structure == "multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf)")
        #expect(summary.header("To") == "Åsa <asa@example.org>")
        #expect(summary.text(of: "text/plain") == "Your session is archived.")
        #expect(
            summary.attachment(named: "scan.pdf")?["base64"] as? String == Data(Self.attachment).base64EncodedString())
        #expect(daemon.terminate() == 0)
    }

    @Test("examples/spool.sh hands a .json message over and it is delivered")
    func shellProducer() async throws {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"])
        try await daemon.start()
        let script = Paths.packageRoot.appendingPathComponent("examples/spool.sh").path
        let written = try run(
            "/bin/sh", [script, daemon.spool],
            stdin: #"{"from":"xnat@example.org","tos":["alice@example.org"],"subject":"Hi","text":"Hello from sh"}"#)
        #expect(written.status == 0, "\(written.stderr)")
        #expect(written.stdout.hasSuffix(".json\n"))
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        let summary = try MIMESummary(received: try #require(server.received().first).data)
        #expect(summary.structure == "text/plain")
        #expect(summary.text(of: "text/plain") == "Hello from sh\n")
        #expect(daemon.terminate() == 0)
    }

    @Test("A caller who may not write the spool gets status 77 and a line saying so")
    func noPermission() throws {
        let scratch = Scratch()
        let spool = scratch.file("spool")
        try FileManager.default.createDirectory(atPath: spool + "/tmp", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: spool + "/new", withIntermediateDirectories: true)
        chmod(spool + "/tmp", 0o555)  // not writable by the caller: like tmp/ for someone outside the group
        chmod(scratch.path, 0o755)
        chmod(spool, 0o755)
        let message = #"{"from":"x@example.org","tos":"a@example.org","text":"t"}"#
        // As root, drop to nobody (util-linux's setpriv), since root may write anywhere.
        let result =
            getuid() == 0
            ? try run(
                "/usr/bin/setpriv",
                [
                    "--reuid=nobody", "--regid=nogroup", "--clear-groups", Paths.outbox, "enqueue", "--spool", spool,
                    "-",
                ], stdin: message)
            : try run(Paths.outbox, ["enqueue", "--spool", spool, "-"], stdin: message)
        #expect(result.status == 77, "\(result.stderr)")
        #expect(result.stderr.contains("Permission denied") && result.stderr.contains("group"))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: spool + "/new"))?.isEmpty == true)
    }
}
