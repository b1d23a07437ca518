import Foundation
import GRDB
public import OutboxCore

extension QueueStore {
    /// What became of a message handed to ``enqueue(_:spoolName:now:)``.
    public enum EnqueueResult: Sendable, Hashable {
        case inserted(QueueID)
        /// A message from the same spool file is already queued (a crash between commit and
        /// unlink): nothing was added.
        case alreadyQueued(QueueID)

        public var queueID: QueueID {
            switch self {
            case .inserted(let id), .alreadyQueued(let id): id
            }
        }
    }

    /// One spool file's message, for ``enqueue(_:now:)``.
    public struct SpoolSubmission: Sendable {
        public var message: IncomingMessage
        public var spoolName: String

        public init(message: IncomingMessage, spoolName: String) {
            self.message = message
            self.spoolName = spoolName
        }
    }

    /// Commits the message and its recipients in one transaction.
    ///
    /// `spoolName` is unique: enqueuing the same spool file twice returns `.alreadyQueued` and
    /// changes nothing, so the caller may unlink the file after any successful return.
    public func enqueue(_ message: IncomingMessage, spoolName: String?, now: UnixTime) async throws -> EnqueueResult {
        try await pool.write { db in
            try Self.insert(message, spoolName: spoolName, now: now, db)
        }
    }

    /// Commits several spool files' messages in one transaction (one fsync for all of them): all are
    /// queued, or — when this throws — none is.
    ///
    /// Each spool name is unique, as for ``enqueue(_:spoolName:now:)``: a file queued before (a crash
    /// between commit and unlink) comes back `.alreadyQueued` and adds nothing. The results are in
    /// the order of `submissions`; after a successful return the caller may unlink every file.
    public func enqueue(_ submissions: [SpoolSubmission], now: UnixTime) async throws -> [EnqueueResult] {
        guard !submissions.isEmpty else { return [] }
        return try await pool.write { db in
            try submissions.map { try Self.insert($0.message, spoolName: $0.spoolName, now: now, db) }
        }
    }

    private static func insert(_ message: IncomingMessage, spoolName: String?, now: UnixTime, _ db: Database) throws -> EnqueueResult {
        if let spoolName,
            let existing = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM message WHERE spool_name = ?"), arguments: [spoolName])
        {
            return .alreadyQueued(QueueID(rawValue: existing))
        }
        let bytes = message.content.bytes
        try db.cachedStatement(
            sql: """
                INSERT INTO message (spool_name, sender, size, state, created_at, updated_at, next_attempt_at)
                VALUES (?, ?, ?, 'queued', ?, ?, ?)
                """
        ).execute(arguments: [spoolName, message.envelope.sender.value, bytes.count,
                              now.milliseconds, now.milliseconds, now.milliseconds])
        let id = db.lastInsertedRowID
        try db.cachedStatement(sql: "INSERT INTO message_content (message_id, content) VALUES (?, ?)")
            .execute(arguments: [id, Data(bytes)])
        let insert = try db.cachedStatement(sql: "INSERT INTO recipient (message_id, position, address) VALUES (?, ?, ?)")
        for (position, recipient) in message.envelope.recipients.enumerated() {
            try insert.execute(arguments: [id, position, recipient.value])
        }
        return .inserted(QueueID(rawValue: id))
    }
}
