import Foundation
import GRDB
public import OutboxCore

/// A message taken out of the queue for one delivery attempt. While the lease lasts no other
/// daemon (or worker) claims it; if the daemon dies, the lease lapses and the message is due again.
public struct ClaimedMessage: Sendable, Hashable {
    public var id: QueueID
    public var envelope: Envelope
    public var content: RawMessage
    /// Attempts made before this one.
    public var previousAttempts: Int
    public var queuedAt: UnixTime
    /// The stored position of each of `envelope.recipients` (only those still queued are claimed).
    public var recipientPositions: [Int] = []
    /// Recipients an earlier attempt already delivered to.
    public var alreadySent: Int = 0
}

/// The result of one attempt, as the dispatcher decided it.
public struct AttemptRecord: Sendable, Hashable {
    public var startedAt: UnixTime
    public var duration: Duration
    public var server: String
    public var outcome: DeliveryOutcome
    /// The message's state after this attempt.
    public var newState: QueueState
    /// For `deferred`: when to try again.
    public var nextAttemptAt: UnixTime?
    /// Per-recipient results, by stored position. Empty: every still-queued recipient takes the
    /// message's final state (`sent`/`failed`) and stays queued otherwise.
    public var recipients: [RecipientUpdate] = []

    /// One recipient's new state and the reply that decided it.
    public struct RecipientUpdate: Sendable, Hashable {
        public var position: Int
        public var state: RecipientResult.State
        public var reply: String

        public init(position: Int, state: RecipientResult.State, reply: String) {
            self.position = position
            self.state = state
            self.reply = reply
        }
    }

    public init(startedAt: UnixTime, duration: Duration, server: String, outcome: DeliveryOutcome,
                newState: QueueState, nextAttemptAt: UnixTime?, recipients: [RecipientUpdate] = []) {
        self.recipients = recipients
        self.startedAt = startedAt
        self.duration = duration
        self.server = server
        self.outcome = outcome
        self.newState = newState
        self.nextAttemptAt = nextAttemptAt
    }
}

extension QueueStore {
    /// Leases up to `limit` due messages (queued or deferred, next attempt passed, no live lease),
    /// oldest due first.
    public func claimDue(limit: Int, now: UnixTime, owner: String, leaseFor duration: Duration) async throws -> [ClaimedMessage] {
        try await pool.write { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    UPDATE message SET lease_owner = ?, lease_expires_at = ?
                    WHERE id IN (
                        SELECT id FROM message INDEXED BY message_due
                        WHERE state IN ('queued', 'deferred') AND next_attempt_at <= ?
                          AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
                        ORDER BY next_attempt_at LIMIT ?)
                    RETURNING id, sender, content, attempts, created_at
                    """,
                arguments: [owner, (now + duration).milliseconds, now.milliseconds, now.milliseconds, limit])
            return try rows.compactMap { row -> ClaimedMessage? in
                let id: Int64 = row["id"]
                let recipientRows = try Row.fetchAll(
                    db, sql: "SELECT position, address FROM recipient WHERE message_id = ? AND state = 'queued' ORDER BY position",
                    arguments: [id])
                let addresses = recipientRows.map { $0["address"] as String }
                let alreadySent = try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM recipient WHERE message_id = ? AND state = 'sent'", arguments: [id]) ?? 0
                // Addresses were validated at intake; validate again before they reach curl (libcurl
                // 7.88 would send a CR/LF inside one as is). A bad one fails its message, not the claim.
                let envelope: Envelope
                do {
                    envelope = Envelope(
                        sender: try EmailAddress(row["sender"] as String),
                        recipients: try addresses.map { try EmailAddress($0) })
                } catch {
                    try db.execute(
                        sql: """
                            UPDATE message SET state = 'failed', last_error = ?, lease_owner = NULL, lease_expires_at = NULL
                            WHERE id = ?
                            """,
                        arguments: ["refused before sending: an address in the queue is invalid: \(error)", id])
                    try db.execute(
                        sql: "UPDATE recipient SET state = 'failed', last_reply = ? WHERE message_id = ? AND state = 'queued'",
                        arguments: ["refused before sending: \(error)", id])
                    return nil
                }
                return ClaimedMessage(
                    id: QueueID(rawValue: id), envelope: envelope,
                    content: RawMessage(normalizedBytes: [UInt8](row["content"] as Data)),
                    previousAttempts: row["attempts"], queuedAt: UnixTime(milliseconds: row["created_at"]),
                    recipientPositions: recipientRows.map { $0["position"] as Int }, alreadySent: alreadySent)
            }
        }
    }

    /// Stores an attempt's outcome and releases the lease, only if `owner` still holds it.
    /// - Returns: false when the lease was lost (expired and taken, or the message deleted).
    @discardableResult
    public func finish(_ id: QueueID, owner: String, attempt: AttemptRecord) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE message SET state = ?, attempts = attempts + 1, updated_at = ?,
                        next_attempt_at = COALESCE(?, next_attempt_at), last_error = ?,
                        lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ? AND lease_owner = ?
                    """,
                arguments: [attempt.newState.rawValue, (attempt.startedAt + attempt.duration).milliseconds,
                            attempt.nextAttemptAt?.milliseconds,
                            attempt.newState == .sent ? nil : attempt.outcome.text,
                            id.rawValue, owner])
            guard db.changesCount == 1 else { return false }
            var history: [String] = []
            for update in attempt.recipients {
                try db.execute(
                    sql: "UPDATE recipient SET state = ?, last_reply = ? WHERE message_id = ? AND position = ? AND state = 'queued'",
                    arguments: [update.state.rawValue, update.reply, id.rawValue, update.position])
                let address = try String.fetchOne(
                    db, sql: "SELECT address FROM recipient WHERE message_id = ? AND position = ?",
                    arguments: [id.rawValue, update.position]) ?? "#\(update.position)"
                history.append("<\(address)> \(update.state.rawValue): \(update.reply)")
            }
            if attempt.recipients.isEmpty && (attempt.newState == .sent || attempt.newState == .failed) {
                try db.execute(
                    sql: "UPDATE recipient SET state = ?, last_reply = ? WHERE message_id = ? AND state = 'queued'",
                    arguments: [attempt.newState.rawValue, attempt.outcome.text, id.rawValue])
            }
            try db.execute(
                sql: """
                    INSERT INTO attempt (message_id, started_at, duration_ms, server, outcome, reply, recipients)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id.rawValue, attempt.startedAt.milliseconds, attempt.duration.wholeMilliseconds,
                            attempt.server, "\(attempt.outcome.kind)", attempt.outcome.text,
                            history.isEmpty ? nil : history.joined(separator: "\n")])
            return true
        }
    }

    /// Gives a claimed message back untouched (shutdown before its send started).
    public func release(_ id: QueueID, owner: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE message SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?",
                arguments: [id.rawValue, owner])
        }
    }

    /// Releases leases whose owner is known to be gone (`isGone` says so for an owner string),
    /// so mail a killed daemon was sending is due at once instead of when the lease runs out.
    /// - Returns: how many messages were released.
    public func recoverLeases(where isGone: @Sendable (String) -> Bool) async throws -> Int {
        try await pool.write { db in
            let owners = try String.fetchAll(db, sql: "SELECT DISTINCT lease_owner FROM message WHERE lease_owner IS NOT NULL")
            var released = 0
            for owner in owners where isGone(owner) {
                try db.execute(sql: "UPDATE message SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?",
                               arguments: [owner])
                released += db.changesCount
            }
            return released
        }
    }

    /// When the earliest queued or deferred message falls due (nil when none is waiting).
    public func nextDueTime() async throws -> UnixTime? {
        try await pool.read { db in
            // Both walk an index from its start: the earliest message nobody holds, and the earliest
            // lease to run out (leased messages are few: at most one per worker and daemon).
            let unleased = try Int64.fetchOne(
                db, sql: """
                    SELECT next_attempt_at FROM message INDEXED BY message_due
                    WHERE state IN ('queued', 'deferred') AND lease_owner IS NULL
                    ORDER BY next_attempt_at LIMIT 1
                    """)
            let leaseEnd = try Int64.fetchOne(
                db, sql: """
                    SELECT min(max(next_attempt_at, lease_expires_at)) FROM message INDEXED BY message_leased
                    WHERE lease_owner IS NOT NULL AND state IN ('queued', 'deferred')
                    """)
            return [unleased, leaseEnd].compactMap { $0 }.min().map(UnixTime.init(milliseconds:))
        }
    }
}
