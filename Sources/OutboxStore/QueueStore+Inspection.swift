import GRDB
public import OutboxCore

/// One message as the CLI lists it.
public struct QueueEntry: Sendable, Hashable {
    public struct Recipient: Sendable, Hashable {
        public var address: String
        public var state: String
        public var lastReply: String?
    }

    public var id: QueueID
    public var state: QueueState
    public var sender: String
    public var recipients: [Recipient]
    public var size: Int
    public var attempts: Int
    public var createdAt: UnixTime
    public var nextAttemptAt: UnixTime
    public var lastError: String?
    /// True while a daemon holds a live lease on it (it is being sent).
    public var inFlight: Bool
    /// Where it came from: `spool NAME` (a spool file) or `smtp 127.0.0.1` (the SMTP listener);
    /// nil for messages queued before sources were recorded without a spool name.
    public var origin: String? = nil
}

/// How many messages are in each state, and the oldest waiting one.
public struct QueueCounts: Sendable, Hashable {
    public var byState: [QueueState: Int] = [:]
    /// Creation time of the oldest queued or deferred message.
    public var oldestWaiting: UnixTime?

    public subscript(state: QueueState) -> Int { byState[state] ?? 0 }
    public init() {}
}

extension QueueStore {
    /// Messages in id order, optionally only those in `states`, at most `limit`.
    public func list(states: [QueueState]? = nil, limit: Int? = nil, now: UnixTime) async throws -> [QueueEntry] {
        try await list(filter: QueueFilter(states: states ?? [], limit: limit), now: now)
    }

    /// Messages matching `filter`, in id order.
    public func list(filter: QueueFilter, now: UnixTime) async throws -> [QueueEntry] {
        try await pool.read { db in
            let condition = filter.sqlCondition(now: now)
            var sql = "SELECT id, state, sender, size, attempts, created_at, next_attempt_at, last_error, lease_expires_at, source, spool_name FROM message"
            sql += condition.sql + " ORDER BY id"
            let arguments = condition.arguments
            if let limit = filter.limit { sql += " LIMIT \(max(limit, 0))" }
            let recipientStatement = try db.cachedStatement(
                sql: "SELECT address, state, last_reply FROM recipient WHERE message_id = ? ORDER BY position")
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let id: Int64 = row["id"]
                let recipients = try Row.fetchAll(recipientStatement, arguments: [id]).map { r in
                    QueueEntry.Recipient(address: r["address"], state: r["state"], lastReply: r["last_reply"])
                }
                let leaseExpiry: Int64? = row["lease_expires_at"]
                return QueueEntry(
                    id: QueueID(rawValue: id), state: QueueState(rawValue: row["state"]) ?? .queued,
                    sender: row["sender"], recipients: recipients, size: row["size"], attempts: row["attempts"],
                    createdAt: UnixTime(milliseconds: row["created_at"]),
                    nextAttemptAt: UnixTime(milliseconds: row["next_attempt_at"]), lastError: row["last_error"],
                    inFlight: leaseExpiry.map { $0 > now.milliseconds } ?? false,
                    origin: (row["source"] as String?) ?? (row["spool_name"] as String?).map { "spool \($0)" })
            }
        }
    }

    /// Counts per state, from `message_count` (kept by triggers: no scan, whatever the queue's size).
    public func counts() async throws -> QueueCounts {
        try await pool.read { db in
            var counts = QueueCounts()
            for row in try Row.fetchAll(db, sql: "SELECT state, n FROM message_count WHERE n != 0") {
                if let state = QueueState(rawValue: row["state"]) { counts.byState[state] = row["n"] }
            }
            // Ids grow with arrival, and message_state holds (state, id): the first entry of each
            // state is its oldest message, found without a scan.
            let oldestIDs = try ["queued", "deferred"].compactMap { state in
                try Int64.fetchOne(db, sql: "SELECT min(id) FROM message WHERE state = ?", arguments: [state])
            }
            if let oldest = oldestIDs.min() {
                counts.oldestWaiting = try Int64.fetchOne(
                    db, sql: "SELECT created_at FROM message WHERE id = ?", arguments: [oldest]
                ).map(UnixTime.init(milliseconds:))
            }
            return counts
        }
    }

    /// The attempt history of one message, oldest first.
    public func attempts(of id: QueueID) async throws -> [(startedAt: UnixTime, outcome: String, reply: String)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT started_at, outcome, reply FROM attempt WHERE message_id = ? ORDER BY id",
                             arguments: [id.rawValue]).map {
                (UnixTime(milliseconds: $0["started_at"]), $0["outcome"], $0["reply"])
            }
        }
    }
}
