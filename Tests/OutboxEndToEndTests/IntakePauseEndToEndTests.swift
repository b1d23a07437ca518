import Foundation
import Glibc
import Testing

/// When the queue cannot be written (disk full, or here a lock held longer than the busy timeout),
/// intake pauses: the spool file stays in new/, STATUS and the log say so, and intake resumes on
/// its own once the queue is writable again. bench/faults.sh disk-full does the same on a full tmpfs.
@Suite("Intake pauses while the queue cannot be written", .timeLimit(.minutes(3)))
struct IntakePauseEndToEndTests {
    @Test("A blocked queue keeps the file in new/, says 'intake paused' in STATUS and the log, and resumes by itself")
    func pauseAndResume() async throws {
        let daemon = DaemonUnderTest()
        let socket = try NotifySocket(path: daemon.scratch.file("notify"))
        daemon.configure(smtp: ["enabled: false"], extra: "log:\n  level: notice")
        try await daemon.start(notify: socket)
        defer { daemon.kill9() }

        // Another writer holds the write lock longer than the store's 10 s busy timeout; it says
        // so by creating a file once BEGIN IMMEDIATE has the lock.
        let locked = daemon.scratch.file("locked")
        let locker = try ChildProcess(
            "/usr/bin/sqlite3", [daemon.database, "BEGIN IMMEDIATE;", ".shell touch \(locked); sleep 45", "COMMIT;"],
            outputPath: daemon.scratch.file("sqlite3.out"))
        defer {
            locker.signal(SIGKILL)
            locker.wait()
        }
        #expect(await eventually { FileManager.default.fileExists(atPath: locked) }, "the test's writer never got the lock")
        try daemon.drop("paused.eml", "From: s@example.org\nTo: r@example.org\nSubject: paused\n\nbody\n")

        var messages: [String] = []
        func status(_ predicate: (String) -> Bool) async -> Bool {
            await eventually(timeout: .seconds(60)) {
                messages += socket.drain()
                return messages.last { $0.hasPrefix("STATUS=") }.map(predicate) ?? false
            }
        }
        #expect(await status { $0.contains("intake paused: cannot write to the queue") }, "\(messages) \(daemon.logText)")
        #expect(daemon.occurrences(of: "Intake paused") == 1, "\(daemon.logText)")
        #expect(FileManager.default.fileExists(atPath: daemon.spool + "/new/paused.eml"), "the file waits in new/")
        #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.spool + "/failed").isEmpty, "nothing is quarantined for it")

        locker.signal(SIGKILL)  // the lock goes with the process
        locker.wait()
        #expect(await eventually { daemon.occurrences(of: "Intake resumed") == 1 }, "\(daemon.logText)")
        #expect(await status { !$0.contains("intake paused") && $0.contains("1 held") }, "\(messages)")
        #expect(!FileManager.default.fileExists(atPath: daemon.spool + "/new/paused.eml"))
        #expect(try daemon.list().count == 1)
        #expect(daemon.isRunning)
    }
}
