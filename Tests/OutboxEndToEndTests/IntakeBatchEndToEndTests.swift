import Foundation
import Glibc
import Testing

/// Intake commits what is ready in batches (one transaction each). A burst must still queue every
/// good file exactly once, quarantine the bad ones among them without holding the others back, and
/// leave every file of a batch in new/ when its commit fails.
@Suite("Spool intake in batches", .timeLimit(.minutes(3)))
struct IntakeBatchEndToEndTests {
    /// A good spool file for recipient r`index`: .eml or .json, alternately.
    static func good(_ index: Int) -> (name: String, content: String) {
        if index.isMultiple(of: 2) {
            return (String(format: "burst.%04d.eml", index),
                    "From: s@example.org\nTo: r\(index)@example.org\nSubject: burst \(index)\n\nbody \(index)\n")
        }
        return (String(format: "burst.%04d.json", index),
                #"{"from":"s@example.org","tos":["r\#(index)@example.org"],"subject":"burst \#(index)","text":"body"}"#)
    }

    /// Bad spool files of several kinds, for index `index`.
    static func bad(_ index: Int) -> (name: String, content: String) {
        switch index % 3 {
        case 0: (String(format: "burst.%04d.eml", index), "this is not a mail message\n")
        case 1: (String(format: "burst.%04d.json", index), #"{"from":"s@example.org","tos":["#)  // truncated
        default: (String(format: "burst.%04d.eml", index), "From: s@example.org\nSubject: nobody\n\nx\n")  // no recipients
        }
    }

    func createSpool(_ daemon: DaemonUnderTest) throws {
        for sub in ["tmp", "new", "failed"] {
            try FileManager.default.createDirectory(atPath: daemon.spool + "/" + sub, withIntermediateDirectories: true)
        }
    }

    func files(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// Recipient addresses in the queue, as `outbox list --json` shows them.
    func queuedRecipients(_ daemon: DaemonUnderTest) throws -> [String] {
        try daemon.list().flatMap { entry in
            ((entry["recipients"] as? [[String: Any]]) ?? []).compactMap { $0["address"] as? String }
        }.sorted()
    }

    func sqlite3(_ daemon: DaemonUnderTest, _ sql: String) throws -> String {
        let result = try run("/usr/bin/sqlite3", [daemon.database, sql])
        guard result.status == 0 else { throw TestFailure("sqlite3 \(sql): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("A burst of 600 files (20 bad among them) waiting at start: every good one queued exactly once, each bad one in failed/")
    func burstQueuedExactlyOnce() async throws {
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false"])
        try createSpool(daemon)
        let badIndices = Set(stride(from: 7, to: 600, by: 30))
        for index in 0..<600 {
            let file = badIndices.contains(index) ? Self.bad(index) : Self.good(index)
            try daemon.drop(file.name, file.content)
        }
        try await daemon.start()
        defer { daemon.kill9() }

        let new = daemon.spool + "/new"
        #expect(await eventually(timeout: .seconds(90)) { files(in: new).isEmpty }, "left: \(files(in: new).prefix(5)) \(daemon.logText.suffix(800))")
        let expected = (0..<600).filter { !badIndices.contains($0) }.map { "r\($0)@example.org" }.sorted()
        #expect(try queuedRecipients(daemon) == expected)
        let failed = files(in: daemon.spool + "/failed")
        #expect(failed == badIndices.flatMap { [Self.bad($0).name, Self.bad($0).name + ".error"] }.sorted())
        for name in failed where name.hasSuffix(".error") {
            let reason = try String(contentsOfFile: daemon.spool + "/failed/" + name, encoding: .utf8)
            #expect(reason.split(separator: "\n").count == 1, "\(name): \(reason)")
        }
        // Committed in a few transactions (each stamps its messages with one time), not one per file.
        let commitTimes = try Int(sqlite3(daemon, "SELECT count(DISTINCT created_at) FROM message")) ?? -1
        #expect((1...10).contains(commitTimes), "\(commitTimes) distinct commit times for 580 messages")
        #expect(daemon.isRunning)
    }

    @Test("While the queue refuses writes, every good file of the batch stays in new/ (bad ones still go to failed/); then each is queued once")
    func failedCommitKeepsFiles() async throws {
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["enabled: false"], extra: "log:\n  level: notice")
        try await daemon.start()  // creates the queue and the spool
        daemon.terminate()
        // A trigger makes every insert into the queue fail, as a full disk makes the commit fail.
        _ = try sqlite3(daemon, "CREATE TRIGGER refuse BEFORE INSERT ON message BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;")
        for index in 0..<20 { try daemon.drop(Self.good(index).name, Self.good(index).content) }
        for index in [20, 21] { try daemon.drop(Self.bad(index).name, Self.bad(index).content) }
        try await daemon.start()
        defer { daemon.kill9() }

        let new = daemon.spool + "/new", failed = daemon.spool + "/failed"
        #expect(await eventually { daemon.occurrences(of: "Intake paused") == 1 }, "\(daemon.logText)")
        #expect(await eventually { files(in: failed).count == 4 }, "\(files(in: failed))")
        // The paused intake tries again (every 2 s), oldest name first, and fails again. A bad file named
        // to come first goes to failed/ in such a retry; a second one, once the first is there, in a
        // later retry, after the first one's commit failed.
        let late = ["a-late.0.eml", "a-late.1.eml"]
        for name in late {
            try daemon.drop(name, "this is not a mail message\n")
            #expect(await eventually { files(in: failed).contains(name + ".error") }, "\(files(in: failed))")
        }
        #expect(files(in: new) == (0..<20).map { Self.good($0).name }.sorted())
        #expect(files(in: failed)
            == ([20, 21].flatMap { [Self.bad($0).name, Self.bad($0).name + ".error"] } + late + late.map { $0 + ".error" }).sorted())
        #expect(try sqlite3(daemon, "SELECT count(*) FROM message") == "0")

        _ = try sqlite3(daemon, "DROP TRIGGER refuse;")
        #expect(await eventually { files(in: new).isEmpty }, "\(files(in: new)) \(daemon.logText)")
        #expect(await eventually { daemon.occurrences(of: "Intake resumed") == 1 }, "\(daemon.logText)")
        #expect(try queuedRecipients(daemon) == (0..<20).map { "r\($0)@example.org" }.sorted())
        #expect(daemon.isRunning)
    }
}
