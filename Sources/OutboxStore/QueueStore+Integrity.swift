import Foundation
import GRDB
import OutboxCore

/// How much of the queue file ``QueueStore/verifyIntegrity(path:withoutRecord:)`` read, and why.
public struct IntegrityCheck: Sendable, Hashable {
    public enum Scope: String, Sendable, Hashable {
        /// `PRAGMA quick_check`: every page of the file (seconds for a million messages).
        case wholeFile = "whole file"
        /// The header and the schema only: enough to refuse a file that is not an SQLite database.
        case header = "header and schema"
    }

    public var scope: Scope
    /// Why this scope, for the log: `no record of a clean stop`, `unchanged since the last clean stop`, …
    public var reason: String
    public var duration: Duration
}

extension QueueStore {
    /// Refuses a damaged queue file before anything opens it for writing: opens `path` read-only
    /// (no migration, no checkpoint, the file's bytes stay as they are) and checks it. Does nothing
    /// and returns nil when there is no file yet (a first start creates it).
    ///
    /// The whole file is read (`PRAGMA quick_check`) unless it still matches the
    /// ``CleanStopRecord`` outboxd left at its last clean stop; then only the header and the schema.
    /// A record that no longer matches (the file or its write-ahead log changed since) always means
    /// the whole file. With no record at all, `withoutRecord` decides: outboxd reads the whole file
    /// (it stopped uncleanly, or this is the first start of this version); the CLI reads the header,
    /// because a daemon that is running has no record and checked the file when it started.
    ///
    /// - Throws: ``QueueStoreError/corrupt(path:detail:)`` with a one-line detail when SQLite finds
    ///   damage or the file is not an SQLite database; other open errors as they come.
    @discardableResult
    public static func verifyIntegrity(
        path: String, withoutRecord: IntegrityCheck.Scope = .wholeFile
    ) async throws -> IntegrityCheck? {
        guard access(path, F_OK) == 0 else { return nil }
        let started = ContinuousClock.now
        let scope: IntegrityCheck.Scope
        let reason: String
        // Before the file is opened: opening creates an empty -wal, which is no content.
        let (stored, current) = try await offCooperativePool {
            (CleanStopRecord.stored(database: path), CleanStopRecord.current(database: path))
        }
        if let stored {
            if stored == current {
                (scope, reason) = (.header, "unchanged since the last clean stop")
            } else {
                (scope, reason) = (.wholeFile, "changed since the last clean stop")
            }
        } else {
            (scope, reason) = (withoutRecord, "no record of a clean stop (first start, crash, or outboxd running)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        configuration.label = "outbox.queue.check"
        let answer: String?
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            answer = try await queue.read { db in
                switch scope {
                case .wholeFile:
                    return try String.fetchAll(db, sql: "PRAGMA quick_check(5)").joined(separator: "; ")
                case .header:
                    // Reads the header and sqlite_master: SQLITE_NOTADB for anything but a database.
                    _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
                    return "ok"
                }
            }
            try queue.close()
        } catch {
            if let damage = damage(in: error, path: path) { throw damage }
            throw error
        }
        if answer != "ok" {
            throw QueueStoreError.corrupt(path: path, detail: oneLine(answer ?? "no answer from quick_check"))
        }
        return IntegrityCheck(scope: scope, reason: reason, duration: .now - started)
    }

    /// ``QueueStoreError/corrupt(path:detail:)`` when `error` is SQLite finding the file at `path`
    /// damaged (SQLITE_CORRUPT) or not a database (SQLITE_NOTADB), from any read or write; nil for
    /// any other error.
    public static func damage(in error: any Error, path: String) -> QueueStoreError? {
        if case .corrupt = error as? QueueStoreError { return error as? QueueStoreError }
        guard let error = error as? DatabaseError, [.SQLITE_NOTADB, .SQLITE_CORRUPT].contains(error.resultCode) else {
            return nil
        }
        return .corrupt(path: path, detail: oneLine(error.message ?? "\(error)"))
    }

    /// Called by outboxd after its start check and before its first write: removes the clean-stop
    /// record, so that it can never vouch for a file the daemon went on to change.
    public static func forgetCleanStop(path: String) async throws {
        try await offCooperativePool { try CleanStopRecord.remove(database: path) }
    }

    /// Called by outboxd once every connection of its own is closed at a clean stop: records the
    /// file as it is (``CleanStopRecord``), unless a write-ahead log remains (another process still
    /// has the queue open, or a connection did not close), in which case nothing is recorded and
    /// the next start reads the whole file.
    /// - Returns: true when the record was written.
    @discardableResult
    public static func recordCleanStop(path: String) async throws -> Bool {
        try await offCooperativePool {
            guard let record = CleanStopRecord.current(database: path) else { return false }
            try record.store(database: path)
            return true
        }
    }

    /// Copies the write-ahead log into the file and empties it (`wal_checkpoint(TRUNCATE)`), then
    /// closes every connection of this store; later calls fail. GRDB closes the pool's writer
    /// before its read-only readers, so the last connection to close cannot remove the log itself:
    /// the checkpoint leaves it empty, which ``recordCleanStop(path:)`` requires. A checkpoint that
    /// another process's open read blocks leaves the log as it is (and no record is written).
    public func close() async throws {
        let pool = pool
        try await Self.offCooperativePool {
            _ = try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
            try pool.close()
        }
    }

    /// Runs `work` on a Dispatch queue: fsync and GRDB's synchronous close block, and must not hold
    /// one of the cooperative pool's few threads (signals, watchdog pings and the other tasks wait).
    private static func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async { continuation.resume(with: Result { try work() }) }
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
    }
}
