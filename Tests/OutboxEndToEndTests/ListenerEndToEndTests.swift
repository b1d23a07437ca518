import Foundation
import Glibc
import Testing

/// Runs a Python 3 program (argv[1…] = `arguments`) and returns its output; fails on a non-zero exit.
func python(_ program: String, _ arguments: [String]) throws -> String {
    let result = try run("/usr/bin/python3", ["-c", program] + arguments)
    guard result.status == 0 else { throw TestFailure("python3 exited \(result.status): \(result.stderr.suffix(800))") }
    return result.stdout
}

/// outboxd with the SMTP listener on a free loopback port, delivering to a real test SMTP server
/// (or not delivering at all, `smtp.enabled: false`, to inspect the queue).
private struct ListenerSetup {
    let daemon: DaemonUnderTest
    let server: SMTPTestServer?
    let port: Int

    init(deliver: Bool, listen: [String] = []) async throws {
        daemon = DaemonUnderTest()
        port = try freeLoopbackPort()
        let server = deliver ? try SMTPTestServer() : nil
        self.server = server
        let smtp = server.map { ["host: 127.0.0.1", "port: \($0.port)", "email_prefix: XNAT"] } ?? ["enabled: false"]
        daemon.configure(smtp: smtp, extra: (["listen:", "  addresses: 127.0.0.1:\(port)"] + listen.map { "  " + $0 }).joined(separator: "\n"))
        try await daemon.start()
    }
}

/// Sends with Python's smtplib, every command of a transaction pipelined (RFC 2920), several
/// messages on one connection; prints the reply to each final dot.
private let pipelinedClient = #"""
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=30)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        line = f.readline().decode()
        lines.append(line.rstrip("\r\n"))
        if line[3:4] != "-":
            return lines
reply()
s.sendall(b"EHLO client.test\r\n")
assert "250 ENHANCEDSTATUSCODES" in reply()[-1] or True
for i in range(count):
    s.sendall(("MAIL FROM:<sender@example.org>\r\nRCPT TO:<to%d@example.org>\r\nRCPT TO:<other@example.org>\r\nDATA\r\n" % i).encode())
    got = [reply()[-1] for _ in range(4)]
    assert got[:3] == ["250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok"] and got[3].startswith("354"), got
    s.sendall(("Subject: pipelined %d\r\nFrom: sender@example.org\r\n\r\n..dot-stuffed line\r\nbody %d\r\n.\r\n" % (i, i)).encode())
    print(reply()[-1])
s.sendall(b"QUIT\r\n")
print(reply()[-1])
"""#

/// smtplib as scripts use it (sendmail → EHLO, MAIL, RCPT…, DATA with its own pipelining off).
private let smtplibClient = #"""
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "jenkins@example.org"; m["To"] = "ops@example.org"; m["Subject"] = "Build failed"
m.set_content("Build 42 failed.")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30) as s:
    print(s.send_message(m, to_addrs=["ops@example.org", "blind@example.org"]))
"""#

/// One raw exchange: sends argv[2] (with \r\n escapes) in one write, then prints every reply line
/// until the server closes or 3 s of silence.
private let rawClient = #"""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
if len(sys.argv) > 3 and sys.argv[3] == "abort":
    s.close(); sys.exit(0)
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
except socket.timeout:
    pass
print(data.decode("latin-1"), end="")
"""#

@Suite("SMTP listener with real clients", .serialized, .timeLimit(.minutes(3)))
struct ListenerEndToEndTests {
    @Test("Pipelined messages from Python are queued before their 250 and delivered with a Received field")
    func pipelinedPython() async throws {
        let setup = try await ListenerSetup(deliver: true)
        defer { setup.daemon.terminate() }
        let output = try python(pipelinedClient, ["\(setup.port)", "5"]).split(separator: "\n").map(String.init)
        #expect(output.count == 6)
        #expect(output.prefix(5).allSatisfy { $0.hasPrefix("250 2.0.0 Ok: queued as ") })
        #expect(output.last == "221 2.0.0 Bye")
        let server = try #require(setup.server)
        #expect(await eventually { server.received().count == 5 })
        let received = server.received()
        #expect(Set(received.map(\.rcpt_tos)) == Set((0..<5).map { ["to\($0)@example.org", "other@example.org"] }))
        for message in received {
            #expect(message.data.hasPrefix("Received: from client.test ([127.0.0.1])"))
            #expect(message.data.contains("Subject: [XNAT] pipelined"))
            #expect(message.data.contains("\r\n.dot-stuffed line\r\n") || message.data.contains("\n.dot-stuffed line\n"))
            #expect(message.data.contains("Message-ID: <"), "a Message-ID is added when missing")
            #expect(message.data.contains("Date: "), "a Date is added when missing")
        }
        // The queue id in each 250 is the one in the Received field.
        for line in output.prefix(5) {
            let id = String(line.split(separator: " ").last ?? "")
            #expect(received.contains { $0.data.contains("with ESMTP id \(id)") })
        }
        #expect(setup.daemon.logText.contains("outbox.client=127.0.0.1"))
        #expect(setup.daemon.logText.contains("outbox.message_id=<"))
    }

    @Test("smtplib's send_message: the envelope decides the recipients; list and show name the source")
    func smtplibEnvelope() async throws {
        let setup = try await ListenerSetup(deliver: false)
        defer { setup.daemon.terminate() }
        #expect(try python(smtplibClient, ["\(setup.port)"]) == "{}\n")
        let entries = try setup.daemon.list()
        #expect(entries.count == 1)
        #expect(entries.first?["source"] as? String == "smtp 127.0.0.1")
        let recipients = (entries.first?["recipients"] as? [[String: Any]])?.compactMap { $0["address"] as? String }
        #expect(recipients == ["ops@example.org", "blind@example.org"])
        let show = try run(Paths.outbox, ["show", "1", "--config", setup.daemon.configPath])
        #expect(show.stdout.contains("Source:     smtp 127.0.0.1"))
        let list = try run(Paths.outbox, ["list", "--config", setup.daemon.configPath])
        #expect(list.stdout.contains("(from smtp 127.0.0.1)"))
    }

    @Test("swaks edge cases: bare LF refused 554, oversize 552, too many recipients 452, long line 500")
    func swaksEdgeCases() async throws {
        let setup = try await ListenerSetup(deliver: false, listen: ["max_recipients: 2", "max_message_size: 2000"])
        defer { setup.daemon.terminate() }
        let server = "127.0.0.1:\(setup.port)"
        // A bare LF in the data: swaks sends it as is with --no-data-fixup.
        let bare = try run("/usr/bin/swaks", ["--server", server, "--from", "a@example.org", "--to", "b@example.org",
                                              "--no-data-fixup", "--data", "Subject: x\r\n\r\nsmuggle\n.\nMAIL FROM:<e@example.org>\r\n.\r\n"])
        #expect(bare.stdout.contains("554 5.5.2 Message refused: bare LF"), "\(bare.stdout)")
        let big = try run("/usr/bin/swaks", ["--server", server, "--from", "a@example.org", "--to", "b@example.org",
                                             "--body", String(repeating: "0123456789abcdef\n", count: 200)])
        #expect(big.stdout.contains("552 5.3.4 Message size exceeds fixed limit of 2000 bytes"), "\(big.stdout)")
        let many = try run("/usr/bin/swaks", ["--server", server, "--from", "a@example.org",
                                              "--to", "1@example.org,2@example.org,3@example.org"])
        #expect(many.stdout.contains("452 4.5.3 Error: too many recipients (at most 2 per message)"), "\(many.stdout)")
        let long = try run("/usr/bin/swaks", ["--server", server, "--helo", String(repeating: "h", count: 600),
                                              "--from", "a@example.org", "--to", "b@example.org"])
        #expect(long.stdout.contains("500 5.5.6 Error: command line too long"), "\(long.stdout)")
        // Only the two-recipient message of the "many" run (swaks goes on after the 452) was queued.
        let entries = try setup.daemon.list()
        #expect(entries.count == 1)
        #expect((entries.first?["recipients"] as? [Any])?.count == 2)
    }

    @Test("Unknown commands are refused; a client that disconnects mid-DATA leaves nothing queued")
    func unknownAndAbort() async throws {
        let setup = try await ListenerSetup(deliver: false)
        defer { setup.daemon.terminate() }
        let unknown = try python(rawClient, ["\(setup.port)", "EHLO c\\r\\nXYZZY\\r\\nQUIT\\r\\n"])
        #expect(unknown.contains("500 5.5.2 Error: command not recognized\r\n221 2.0.0 Bye\r\n"), "\(unknown)")
        _ = try python(rawClient, ["\(setup.port)",
                                   "EHLO c\\r\\nMAIL FROM:<a@example.org>\\r\\nRCPT TO:<b@example.org>\\r\\nDATA\\r\\nSubject: half\\r\\n\\r\\nand then", "abort"])
        // A whole message in a later session: its 250 comes after its commit, many round trips after the
        // aborted session closed on the same event loop; by then that one has been dealt with.
        let whole = try python(pipelinedClient, ["\(setup.port)", "1"])
        #expect(whole.hasPrefix("250 2.0.0 Ok: queued as "), "\(whole)")
        let entries = try setup.daemon.list()
        #expect(entries.count == 1, "only the whole message is queued: \(entries)")
        #expect((entries.first?["recipients"] as? [Any])?.count == 2, "the whole message, not the half one: \(entries)")
        // The daemon is still fine.
        let after = try python(rawClient, ["\(setup.port)", "NOOP\\r\\nQUIT\\r\\n"])
        #expect(after.contains("250 2.0.0 Ok"))
    }

    @Test("When the queue cannot commit (another writer holds it past the busy timeout) the final dot gets 451 4.3.0; the client keeps the mail")
    func queueCannotCommit() async throws {
        let setup = try await ListenerSetup(deliver: false)
        defer { setup.daemon.terminate() }
        // Another process takes the database's write lock and keeps it until the test says (the
        // store waits 10 s, then gives up), at most 120 s.
        let ready = setup.daemon.scratch.file("locked")
        let release = setup.daemon.scratch.file("release")
        let locker = try ChildProcess("/usr/bin/python3", ["-c", """
            import os, sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
            db.execute("BEGIN IMMEDIATE")
            open(sys.argv[2], "w").close()
            deadline = time.monotonic() + 120
            while not os.path.exists(sys.argv[3]) and time.monotonic() < deadline:
                time.sleep(0.05)
            db.execute("ROLLBACK")
            """, setup.daemon.database, ready, release], outputPath: setup.daemon.scratch.file("locker.log"))
        defer {
            _ = FileManager.default.createFile(atPath: release, contents: nil)
            locker.wait()
        }
        #expect(await eventually { FileManager.default.fileExists(atPath: ready) })
        let client = #"""
        import smtplib, sys
        s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60)
        try:
            s.sendmail("a@example.org", ["b@example.org"], "Subject: kept by the client\r\n\r\nbody\r\n")
            print("accepted")
        except smtplib.SMTPDataError as e:
            print(e.smtp_code, e.smtp_error.decode())
        """#
        let refused = try python(client, ["\(setup.port)"])
        #expect(refused == "451 4.3.0 Queue cannot commit the message now; try again later\n")
        #expect(setup.daemon.logText.contains("SMTP intake cannot write to the queue"))
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        locker.wait()
        // The lock is gone: the client's retry is queued.
        #expect(try python(client, ["\(setup.port)"]) == "accepted\n")
        #expect(try setup.daemon.list().count == 1)
    }

    @Test("A non-loopback listen address without allow_networks is refused at start")
    func openRelayRefused() async throws {
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false"], extra: "listen:\n  addresses: 0.0.0.0:2525")
        let result = try run(Paths.outboxd, ["--config", daemon.configPath])
        #expect(result.status != 0)
        #expect((result.stderr + result.stdout).contains("listen.addresses: 0.0.0.0:2525 is not a loopback address; set listen.allow_networks"))
    }

    @Test("JavaMail the way XNAT sends (Spring JavaMailSenderImpl, auth and STARTTLS off): text, HTML with attachment, To/Cc/Bcc")
    func javaMail() async throws {
        let setup = try await ListenerSetup(deliver: true)
        defer { setup.daemon.terminate() }
        let client = try JavaMailClient()
        for mode in ["text", "html", "bcc"] {
            let result = try client.run(port: setup.port, mode)
            #expect(result.status == 0, "\(mode): \(result.stderr.suffix(1200))")
        }
        let server = try #require(setup.server)
        #expect(await eventually { server.received().count == 3 })
        let received = server.received()
        let text = received.first { $0.data.contains("Password reset") }
        #expect(text?.data.contains("Subject: [XNAT] Password reset") == true)
        #expect(text?.rcpt_tos == ["user@example.org"])
        let html = received.first { $0.data.contains("Pipeline report") }
        #expect(html?.data.contains("Subject: [XNAT] Pipeline report") == true)
        #expect(html?.data.contains("multipart/mixed") == true)
        #expect(html?.data.contains("report.csv") == true)
        let bcc = try #require(received.first { $0.data.contains("Project access request") })
        #expect(Set(bcc.rcpt_tos) == ["to@example.org", "cc@example.org", "hidden@example.org"])
        #expect(bcc.data.contains("Subject: [XNAT] Project access request"))
        #expect(!bcc.data.contains("hidden@example.org"), "a Bcc recipient never shows in the headers")
        #expect(received.allSatisfy { $0.mail_from == "administrator@xnat.org" })
    }
}

/// scripts/java/XNATMailClient.java, compiled once per test run against Debian's jars.
struct JavaMailClient {
    static let jars = ["javax.mail.jar", "javax.activation.jar", "spring3-context.support.jar", "spring3-context.jar",
                       "spring3-beans.jar", "spring3-core.jar", "commons-logging.jar"].map { "/usr/share/java/" + $0 }
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-javamail-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: directory + "/XNATMailClient.class") {
            let source = Paths.packageRoot.appendingPathComponent("scripts/java/XNATMailClient.java").path
            let compile = try OutboxEndToEndTests.run("/usr/bin/javac", ["-cp", Self.jars.joined(separator: ":"), "-d", directory, source])
            guard compile.status == 0 else {
                throw TestFailure("javac failed (libmail-java, libspring-context-support-java, default-jdk-headless installed? scripts/setup-debian.sh): \(compile.stderr.suffix(800))")
            }
        }
    }

    func run(port: Int, _ arguments: String...) throws -> (status: Int32, stdout: String, stderr: String) {
        try OutboxEndToEndTests.run("/usr/bin/java", ["-cp", ([directory] + Self.jars).joined(separator: ":"), "XNATMailClient", "127.0.0.1", "\(port)"] + arguments)
    }
}
