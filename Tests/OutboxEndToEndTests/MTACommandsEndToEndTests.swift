import Foundation
import OutboxCore
import Testing

/// What a Debian MTA package ships besides sendmail: mailq, newaliases, and one version everywhere.
@Suite("MTA commands and the version", .timeLimit(.minutes(2)))
struct MTACommandsEndToEndTests {
    @Test("mailq (a link to outbox) prints the waiting mail in Postfix's layout; newaliases does nothing")
    func mailq() async throws {
        let server = try SMTPTestServer()
        let port = server.port
        server.stop()  // refused: the message stays deferred
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(port)"], extra: "delivery:\n  first_retry: 1h\n")
        try await daemon.start()
        defer { daemon.terminate() }
        let links = Scratch()
        for name in ["mailq", "newaliases"] {
            try FileManager.default.createSymbolicLink(atPath: links.file(name), withDestinationPath: Paths.outbox)
        }
        let empty = try run(links.file("mailq"), ["--config", daemon.configPath])
        #expect(empty.status == 0 && empty.stdout == "Mail queue is empty\n", "\(empty)")

        try daemon.drop("m.eml", "From: sender@example.org\nTo: alice@example.org, bob@example.org\nSubject: s\n\nbody\n")
        #expect(await eventually { (try? daemon.list().first?["state"] as? String) == "deferred" }, "\(daemon.logText)")
        let result = try run(links.file("mailq"), ["--config", daemon.configPath])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        try #require(lines.count == 8, "\(result.stdout)")
        #expect(lines[0] == "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------")
        // "00000001     123 Tue Dec  1 07:00:00  sender@example.org": id in 11 columns, size right-aligned in 8.
        #expect(lines[1].wholeMatch(of: /[0-9A-F]{8}   {1,8}[0-9]+ [A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3][0-9] [0-9:]{8}  sender@example\.org/) != nil, "\(lines[1])")
        #expect(lines[1].dropFirst(11).prefix(9).trimmingCharacters(in: .whitespaces) == "\(try #require(try daemon.list().first?["message_size"] as? Int))")
        #expect(lines[2].hasPrefix("(") && lines[2].hasSuffix(")") && lines[2].contains("curl error 7"), "\(lines[2])")
        #expect(lines[3] == String(repeating: " ", count: 41) + "alice@example.org")
        #expect(lines[4] == String(repeating: " ", count: 41) + "bob@example.org")
        #expect(lines[5] == "")
        #expect(lines[6] == "-- 1 Kbytes in 1 Request.")
        #expect(try run(Paths.outbox, ["mailq", "--config", daemon.configPath]).stdout == result.stdout)

        let aliases = try run(links.file("newaliases"), [])
        #expect(aliases.status == 0 && aliases.stdout.isEmpty && aliases.stderr.isEmpty)
    }

    @Test("outbox --version, outboxd --version and outboxd's start-up line show OutboxVersion.current")
    func version() async throws {
        #expect(try run(Paths.outbox, ["--version"]).stdout == OutboxVersion.current + "\n")
        #expect(try run(Paths.outboxd, ["--version"]).stdout == OutboxVersion.current + "\n")
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false"])
        try await daemon.start()
        daemon.terminate()
        #expect(daemon.logText.contains("outbox.version=\(OutboxVersion.current)"), "\(daemon.logText)")
        // build-deb.sh reads the package version from the same file.
        let source = try String(contentsOfFile: Paths.packageRoot.appendingPathComponent("Sources/OutboxCore/OutboxVersion.swift").path, encoding: .utf8)
        #expect(source.contains("public static let current = \"\(OutboxVersion.current)\""))
    }
}
