import Foundation
import GRDB
public import OutboxCore

/// A spool file the intake took (queued, or copied to `failed/`) but could not remove from `new/`.
///
/// While its row exists the intake skips the file at every scan (and tries to remove it again), so
/// it is never queued twice — not even after its message was purged, which frees the message's
/// spool name. The row is dropped once the file is gone.
public struct KeptSpoolFile: Sendable, Hashable {
    /// The name in `new/`, as the file system holds it (bytes: a rejected file's name need not be UTF-8).
    public var spoolName: [UInt8]
    /// `st_dev` and `st_ino`: a different file given the same name later is not this one.
    public var device: UInt64
    public var inode: UInt64
    /// The message it was queued as; nil for a rejected file whose copy is in `failed/`.
    public var messageID: QueueID?
    public var firstSeen: UnixTime

    public init(spoolName: [UInt8], device: UInt64, inode: UInt64, messageID: QueueID?, firstSeen: UnixTime) {
        self.spoolName = spoolName
        self.device = device
        self.inode = inode
        self.messageID = messageID
        self.firstSeen = firstSeen
    }
}

extension QueueStore {
    /// Every kept spool file, by name.
    public func keptSpoolFiles() async throws -> [KeptSpoolFile] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT spool_name, device, inode, message_id, first_seen_at FROM spool_kept ORDER BY spool_name")
                .map { row in
                    KeptSpoolFile(
                        spoolName: [UInt8](row["spool_name"] as Data), device: UInt64(bitPattern: row["device"]),
                        inode: UInt64(bitPattern: row["inode"]),
                        messageID: (row["message_id"] as Int64?).map(QueueID.init(rawValue:)),
                        firstSeen: UnixTime(milliseconds: row["first_seen_at"]))
                }
        }
    }

    /// Records files that could not be removed, in one transaction. A row for the same name is
    /// replaced (the name now belongs to this file).
    public func keepSpoolFiles(_ files: [KeptSpoolFile]) async throws {
        guard !files.isEmpty else { return }
        try await pool.write { db in
            let insert = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO spool_kept (spool_name, device, inode, message_id, first_seen_at)
                VALUES (?, ?, ?, ?, ?)
                """)
            for file in files {
                try insert.execute(arguments: [
                    Data(file.spoolName), Int64(bitPattern: file.device), Int64(bitPattern: file.inode),
                    file.messageID?.rawValue, file.firstSeen.milliseconds,
                ])
            }
        }
    }

    /// Drops the rows of files that are gone from `new/` (removed at last, or by an admin).
    public func releaseKeptSpoolFiles(named names: [[UInt8]]) async throws {
        guard !names.isEmpty else { return }
        try await pool.write { db in
            let delete = try db.cachedStatement(sql: "DELETE FROM spool_kept WHERE spool_name = ?")
            for name in names { try delete.execute(arguments: [Data(name)]) }
        }
    }
}
