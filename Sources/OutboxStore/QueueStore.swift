import Foundation
import GRDB
import OutboxCore
import Synchronization

/// The durable queue: one SQLite file in WAL mode with `synchronous = FULL`, shared by the daemon
/// (reads and writes) and the `outbox` CLI (reads, and admin actions).
///
/// Every method is `async` and runs on GRDB's own serial queues, never on Swift's cooperative
/// pool (a blocking `sqlite3_step` there would delay signals and watchdog pings). A method that
/// returns has committed: after `enqueue` the message survives a power cut.
public final class QueueStore: Sendable {
    let pool: DatabasePool
    /// `queue.keep_sent_content`: see ``setKeepsSentContent(_:)``.
    let keepsSentContent = Atomic<Bool>(false)
    /// The file, for messages.
    public let path: String

    /// Opens (creating and migrating when `readOnly` is false) the queue at `path`.
    public init(path: String, readOnly: Bool = false) throws {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(10)
        configuration.label = "outbox.queue"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            try Self.harden(db, writable: !readOnly)
            // 512 KiB of page cache per connection instead of 2 MiB: the kernel's page cache holds
            // the file anyway, and a daemon with a writer and several readers should stay small.
            try db.execute(sql: "PRAGMA cache_size = -512")
        }
        self.path = path
        self.pool = try DatabasePool(path: path, configuration: configuration)
        if !readOnly {
            // FULL makes every commit sync the WAL before it returns. It must be set here, not in
            // prepareDatabase: DatabasePool turns WAL on after prepareDatabase has run, and sets
            // synchronous = NORMAL as it does (GRDB's Database.setUpWALMode), so commits skipped the
            // sync and a power cut could take back messages whose spool files were already removed.
            // The pool's one writer connection lives as long as the pool.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
        } else {
            let applied = try pool.read { db in try Self.migrator.appliedMigrations(db) }
            if applied.isEmpty { throw QueueStoreError.notMigrated(path: path) }
            if applied.count < Self.migrator.migrations.count { throw QueueStoreError.olderSchema(path: path) }
        }
    }
}

extension QueueStore {
    /// The writer connection's `PRAGMA synchronous`: 2 (FULL) when every commit syncs the WAL.
    var writerSynchronousMode: Int {
        get async throws {
            try await pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
        }
    }
}

/// Errors of the store that are about the file, not a message.
public enum QueueStoreError: Error, Sendable, CustomStringConvertible {
    case notMigrated(path: String)
    /// An older outboxd wrote the file and the new one has not started since (an upgrade).
    case olderSchema(path: String)
    case corrupt(path: String, detail: String)

    public var description: String {
        switch self {
        case .notMigrated(let path): "\(path) is not an outbox queue (no schema yet: has outboxd run?)"
        case .olderSchema(let path): "\(path) has the schema of an older outboxd (restart outboxd once to upgrade it)"
        case .corrupt(let path, let detail): "\(path) is damaged: \(detail)"
        }
    }
}
