import Foundation
import GRDB
public import OutboxCore

extension QueueStore {
    /// A message received by the SMTP listener, for ``enqueue(smtp:now:)``.
    public struct SMTPSubmission: Sendable {
        public var message: IncomingMessage
        /// Where it came from, as `outbox list` shows it: `smtp 127.0.0.1`.
        public var source: String
        /// The trace field to put first in the header, given the message's queue id (which the
        /// insert assigns): `Received: from … id 0000002A …`.
        public var traceField: @Sendable (QueueID) -> String

        public init(message: IncomingMessage, source: String, traceField: @escaping @Sendable (QueueID) -> String) {
            self.message = message
            self.source = source
            self.traceField = traceField
        }
    }

    /// Commits several SMTP sessions' messages in one transaction (one fsync for all): all are
    /// queued, or — when this throws — none is. Only after this returns may a session answer 250.
    /// - Returns: the queue ids, in the order of `submissions`.
    public func enqueue(smtp submissions: [SMTPSubmission], now: UnixTime) async throws -> [QueueID] {
        guard !submissions.isEmpty else { return [] }
        return try await pool.write { db in
            try submissions.map { submission in
                try db.cachedStatement(
                    sql: """
                        INSERT INTO message (source, sender, size, state, created_at, updated_at, next_attempt_at)
                        VALUES (?, ?, 0, 'queued', ?, ?, ?)
                        """
                ).execute(arguments: [submission.source, submission.message.envelope.sender.value,
                                      now.milliseconds, now.milliseconds, now.milliseconds])
                let id = QueueID(rawValue: db.lastInsertedRowID)
                var message = submission.message
                message.prependTraceField(submission.traceField(id))
                let bytes = message.content.bytes
                try db.cachedStatement(sql: "UPDATE message SET size = ? WHERE id = ?")
                    .execute(arguments: [bytes.count, id.rawValue])
                try db.cachedStatement(sql: "INSERT INTO message_content (message_id, content) VALUES (?, ?)")
                    .execute(arguments: [id.rawValue, Data(bytes)])
                let insert = try db.cachedStatement(sql: "INSERT INTO recipient (message_id, position, address) VALUES (?, ?, ?)")
                for (position, recipient) in message.envelope.recipients.enumerated() {
                    try insert.execute(arguments: [id.rawValue, position, recipient.value])
                }
                return id
            }
        }
    }
}
