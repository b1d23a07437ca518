import CSQLiteConfig
import GRDB
public import OutboxCore
import Synchronization

// MARK: - Hardening every connection

extension QueueStore {
    /// Per-connection settings that keep deleted mail deleted and ordinary SQL harmless; run from
    /// `prepareDatabase`, so before GRDB's pool switches the file to WAL.
    ///
    /// - `secure_delete`: freed content (a dropped body, a purged message) is overwritten with
    ///   zeros, so the file holds no delivered body once it is dropped and checkpointed.
    /// - `trusted_schema = OFF` and SQLITE_DBCONFIG_DEFENSIVE: a queue file someone tampered with
    ///   cannot run functions from its schema, and no SQL can corrupt the file on purpose
    ///   (writable_schema and friends are refused).
    /// - `auto_vacuum = INCREMENTAL` (writers): takes effect on a new file at once; an older file
    ///   needs one VACUUM (``convertToIncrementalVacuum()``, run by outboxd at start).
    static func harden(_ db: Database, writable: Bool) throws {
        try db.execute(sql: "PRAGMA secure_delete = ON")
        try db.execute(sql: "PRAGMA trusted_schema = OFF")
        var enabled: Int32 = 0
        let code = outbox_sqlite_enable_defensive(db.sqliteConnection, &enabled)
        guard code == SQLITE_OK, enabled == 1 else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: "cannot enable SQLITE_DBCONFIG_DEFENSIVE")
        }
        // The pool's readers are read-only connections even in a writable store.
        if writable && !db.configuration.readonly { try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL") }
    }

    /// The connection settings, as SQLite reports them (tests check the writer's).
    var writerHardening: (secureDelete: Int, trustedSchema: Int, autoVacuum: Int) {
        get async throws {
            try await pool.writeWithoutTransaction { db in
                (try Int.fetchOne(db, sql: "PRAGMA secure_delete") ?? -1,
                 try Int.fetchOne(db, sql: "PRAGMA trusted_schema") ?? -1,
                 try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") ?? -1)
            }
        }
    }
}

// MARK: - Retention

extension QueueStore {
    /// The headers of stored content (up to and including the CRLF that ends the last header), as
    /// an SQL expression on the `content` column; content without a body stays as it is.
    static let headersOnly = """
        CASE WHEN instr(content, X'0D0A0D0A') > 0
            THEN substr(content, 1, instr(content, X'0D0A0D0A') + 1) ELSE content END
        """

    /// Whether ``finish`` drops a sent message's body (false: `queue.keep_sent_content` is on).
    /// outboxd sets it from the configuration at start and on every reload.
    public func setKeepsSentContent(_ keeps: Bool) {
        keepsSentContent.store(keeps, ordering: .relaxed)
    }

    /// Replaces a sent message's content by its headers, in the transaction that records it sent.
    static func dropBody(_ db: Database, _ id: QueueID, at time: UnixTime) throws {
        try db.cachedStatement(sql: """
            UPDATE message_content SET content = \(headersOnly), dropped_at = ? WHERE message_id = ? AND dropped_at IS NULL
            """).execute(arguments: [time.milliseconds, id.rawValue])
    }

    /// Deletes up to `limit` messages in `state` (sent or failed) last changed at least `olderThan`
    /// ago, with their recipients, attempts and content, in one short transaction on the writer.
    /// Callers loop until it returns less than `limit`, so intake and delivery commits interleave.
    /// - Returns: how many were deleted.
    public func purgeExpired(_ state: QueueState, olderThan: Duration, now: UnixTime, limit: Int) async throws -> Int {
        precondition(state == .sent || state == .failed, "only finished messages expire")
        // The index's own condition, spelled out, and a literal state: only then may SQLite use
        // the partial index message_finished (a term implies it only when it repeats it).
        let literal = state == .sent ? "'sent'" : "'failed'"
        return try await pool.write { db in
            try db.execute(
                sql: """
                    DELETE FROM message WHERE id IN (
                        SELECT id FROM message INDEXED BY message_finished
                        WHERE state IN ('sent', 'failed') AND state = \(literal) AND updated_at <= ?
                        ORDER BY updated_at LIMIT ?)
                    """,
                arguments: [(now - olderThan).milliseconds, limit])
            return db.changesCount
        }
    }

    /// Gives up to `pages` free pages back to the file system (`PRAGMA incremental_vacuum`).
    /// - Returns: the free pages left.
    @discardableResult
    public func reclaimFreePages(_ pages: Int) async throws -> Int {
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA incremental_vacuum(\(max(pages, 1)))")
            return try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        }
    }

    /// False for a file created before outboxd set auto_vacuum (see ``convertToIncrementalVacuum()``).
    public var usesIncrementalVacuum: Bool {
        get async throws {
            try await pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") == 2 }
        }
    }

    /// A file created before auto_vacuum was set never gives space back: one VACUUM switches it
    /// to `auto_vacuum = INCREMENTAL` (it rewrites the whole file: seconds per hundred MB, and as
    /// much free disk space as the file takes). Does nothing for a file already converted.
    /// - Returns: true when the file was converted now.
    public func convertToIncrementalVacuum() async throws -> Bool {
        try await pool.writeWithoutTransaction { db in
            guard try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") != 2 else { return false }
            try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            try db.execute(sql: "VACUUM")
            return true
        }
    }
}
