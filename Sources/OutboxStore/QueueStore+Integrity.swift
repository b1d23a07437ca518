import Foundation
import GRDB

extension QueueStore {
    /// Refuses a damaged queue file before anything opens it for writing: opens `path` read-only
    /// (no migration, no checkpoint, the file's bytes stay as they are) and runs
    /// `PRAGMA quick_check`. Does nothing when there is no file yet (a first start creates it).
    ///
    /// - Throws: ``QueueStoreError/corrupt(path:detail:)`` with a one-line detail when SQLite finds
    ///   damage or the file is not an SQLite database; other open errors as they come.
    public static func verifyIntegrity(path: String) async throws {
        guard access(path, F_OK) == 0 else { return }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        configuration.label = "outbox.queue.check"
        let answer: String?
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            answer = try await queue.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)").joined(separator: "; ") }
            try queue.close()
        } catch let error as DatabaseError where [.SQLITE_NOTADB, .SQLITE_CORRUPT].contains(error.resultCode) {
            throw QueueStoreError.corrupt(path: path, detail: oneLine(error.message ?? "\(error)"))
        }
        if answer != "ok" {
            throw QueueStoreError.corrupt(path: path, detail: oneLine(answer ?? "no answer from quick_check"))
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}
