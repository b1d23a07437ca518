import Foundation
import Testing

@Suite("The SMTP password stays out of files producers can read", .serialized)
struct SecretsEndToEndTests {
    @Test("outboxd refuses a password in a group-readable file (exit 78, one line with the fix), accepts it owner-only, and refuses a reload that exposes it",
          .timeLimit(.minutes(2)))
    func readablePasswordRefused() async throws {
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false", "username: xnat", "password: hunter2-secret"])
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: daemon.configPath)
        let refused = try run(Paths.outboxd, ["--config", daemon.configPath])
        #expect(refused.status == 78)
        #expect(refused.stderr.hasPrefix("outboxd: \(daemon.configPath): smtp.password: set in a file that its group can read (mode 0640); "),
                "\(refused.stderr)")
        #expect(refused.stderr.contains("/etc/outbox/smtp.password") && refused.stderr.contains("chmod 600 \(daemon.configPath)"))
        #expect(refused.stderr.split(separator: "\n").count == 1 && !refused.stderr.contains("hunter2"))
        #expect(!FileManager.default.fileExists(atPath: daemon.database), "nothing was opened or created")

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: daemon.configPath)
        try await daemon.start()
        // Someone loosens the mode and reloads: the reload is refused, the daemon keeps running.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: daemon.configPath)
        daemon.process?.signal(SIGHUP)
        #expect(await eventually { daemon.occurrences(of: "Reload refused") == 1 }, "\(daemon.logText)")
        #expect(daemon.logText.contains("smtp.password: set in a file that every user can read (mode 0644)"))
        #expect(!daemon.logText.contains("hunter2"))
        #expect(daemon.isRunning)
        #expect(daemon.terminate() == 0)
    }

    @Test("The recommended way: no password in the readable file, the credential in $CREDENTIALS_DIRECTORY; the mail goes out with AUTH",
          .timeLimit(.minutes(2)))
    func credentialDirectory() async throws {
        let server = try SMTPTestServer(arguments: ["--auth-user", "xnat", "--auth-password", "cred-secret-42"])
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)", "auth: true", "username: xnat"])
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: daemon.configPath)
        let credentials = daemon.scratch.file("credentials")
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: credentials + "/smtp.password", contents: Data("cred-secret-42\n".utf8),
                                       attributes: [.posixPermissions: 0o400])
        try await daemon.start(extraEnvironment: ["CREDENTIALS_DIRECTORY": credentials])
        try daemon.drop("1.eml", "From: a@example.org\nTo: b@example.org\nSubject: s\n\nbody\n")
        #expect(await eventually { server.received().count == 1 }, "\(daemon.logText)")
        #expect(server.received().first?.authenticated == true)
        #expect(daemon.terminate() == 0)
        #expect(!daemon.logText.contains("cred-secret-42"))
    }
}
