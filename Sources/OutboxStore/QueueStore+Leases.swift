import Foundation
import GRDB
public import OutboxCore
import Synchronization

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

/// One delivery worker's business with the queue between two sends: record the attempt it just
/// made (if any) and lease its next message (if it wants one), through ``DeliveryLedger``.
public struct DeliveryTurn: Sendable {
    public var finishing: (id: QueueID, attempt: AttemptRecord)?
    public var claims: Bool

    public init(finishing: (id: QueueID, attempt: AttemptRecord)?, claims: Bool) {
        self.finishing = finishing
        self.claims = claims
    }

    public struct Result: Sendable {
        /// For a turn that finished an attempt: whether it was recorded (false: the lease was lost).
        public var recorded: Bool?
        /// The leased message, when one was wanted and one was due.
        public var claimed: ClaimedMessage?
    }
}

extension QueueStore {
    /// Leases up to `limit` due messages (queued or deferred, next attempt passed, no live lease),
    /// oldest due first.
    public func claimDue(limit: Int, now: UnixTime, owner: String, leaseFor duration: Duration) async throws -> [ClaimedMessage] {
        try await pool.write { db in
            try Self.claimDue(db, limit: limit, now: now, owner: owner, leaseFor: duration)
        }
    }

    /// Stores an attempt's outcome and releases the lease, only if `owner` still holds it.
    /// - Returns: false when the lease was lost (expired and taken, or the message deleted).
    @discardableResult
    public func finish(_ id: QueueID, owner: String, attempt: AttemptRecord) async throws -> Bool {
        try await pool.write { db in
            try Self.finish(
                db, id, owner: owner, attempt: attempt, dropsBody: !keepsSentContent.load(ordering: .relaxed))
        }
    }

    /// Several delivery workers' turns in one transaction (one fsync): first every finished
    /// attempt is recorded, then one message is leased for each turn that asks for one.
    /// Blocks the calling thread (``DeliveryLedger`` calls it from delivery lanes' own threads).
    /// - Returns: one result per turn, in order.
    func takeTurns(_ turns: [DeliveryTurn], now: UnixTime, owner: String, leaseFor duration: Duration) throws -> [DeliveryTurn.Result] {
        let dropsBody = !keepsSentContent.load(ordering: .relaxed)
        return try pool.write { db in
            var results = try turns.map { turn in
                DeliveryTurn.Result(recorded: try turn.finishing.map {
                    try Self.finish(db, $0.id, owner: owner, attempt: $0.attempt, dropsBody: dropsBody)
                })
            }
            let wanted = turns.indices.filter { turns[$0].claims }
            guard !wanted.isEmpty else { return results }
            let claimed = try Self.claimDue(db, limit: wanted.count, now: now, owner: owner, leaseFor: duration)
            for (index, message) in zip(wanted, claimed) {
                results[index].claimed = message
            }
            return results
        }
    }

    static func claimDue(_ db: Database, limit: Int, now: UnixTime, owner: String, leaseFor duration: Duration) throws -> [ClaimedMessage] {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: """
                UPDATE message SET lease_owner = ?, lease_expires_at = ?
                WHERE id IN (
                    SELECT id FROM message INDEXED BY message_due
                    WHERE state IN ('queued', 'deferred') AND next_attempt_at <= ?
                      AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
                    ORDER BY next_attempt_at LIMIT ?)
                RETURNING id, sender, attempts, created_at
                """),
            arguments: [owner, (now + duration).milliseconds, now.milliseconds, now.milliseconds, limit])
        let recipientsOf = try db.cachedStatement(
            sql: "SELECT position, address, state FROM recipient WHERE message_id = ? ORDER BY position")
        let contentOf = try db.cachedStatement(sql: "SELECT content FROM message_content WHERE message_id = ?")
        return try rows.compactMap { row -> ClaimedMessage? in
            let id: Int64 = row["id"]
            var positions: [Int] = []
            var addresses: [String] = []
            var alreadySent = 0
            for recipient in try Row.fetchAll(recipientsOf, arguments: [id]) {
                switch recipient["state"] as String {
                case RecipientResult.State.queued.rawValue:
                    positions.append(recipient["position"])
                    addresses.append(recipient["address"])
                case RecipientResult.State.sent.rawValue:
                    alreadySent += 1
                default:
                    break
                }
            }
            // Addresses were validated at intake; validate again before they reach curl (libcurl
            // 7.88 would send a CR/LF inside one as is). A bad one fails its message, not the claim.
            let envelope: Envelope
            let content: Data
            do {
                envelope = Envelope(
                    sender: try EmailAddress(row["sender"] as String),
                    recipients: try addresses.map { try EmailAddress($0) })
                guard let stored = try Data.fetchOne(contentOf, arguments: [id]) else { throw MissingContent() }
                content = stored
            } catch let error as DatabaseError {
                throw error
            } catch {
                let reason = error is MissingContent ? "\(error)" : "an address in the queue is invalid: \(error)"
                try db.execute(
                    sql: """
                        UPDATE message SET state = 'failed', last_error = ?, lease_owner = NULL, lease_expires_at = NULL
                        WHERE id = ?
                        """,
                    arguments: ["refused before sending: \(reason)", id])
                try db.execute(
                    sql: "UPDATE recipient SET state = 'failed', last_reply = ? WHERE message_id = ? AND state = 'queued'",
                    arguments: ["refused before sending: \(error)", id])
                return nil
            }
            return ClaimedMessage(
                id: QueueID(rawValue: id), envelope: envelope,
                content: RawMessage(normalizedBytes: [UInt8](content)),
                previousAttempts: row["attempts"], queuedAt: UnixTime(milliseconds: row["created_at"]),
                recipientPositions: positions, alreadySent: alreadySent)
        }
    }

    /// - Parameter dropsBody: a message now sent keeps only its headers (`queue.keep_sent_content` off).
    static func finish(
        _ db: Database, _ id: QueueID, owner: String, attempt: AttemptRecord, dropsBody: Bool
    ) throws -> Bool {
        try db.cachedStatement(sql: """
            UPDATE message SET state = ?, attempts = attempts + 1, updated_at = ?,
                next_attempt_at = COALESCE(?, next_attempt_at), last_error = ?,
                lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ? AND lease_owner = ?
            """).execute(
                arguments: [attempt.newState.rawValue, (attempt.startedAt + attempt.duration).milliseconds,
                            attempt.nextAttemptAt?.milliseconds,
                            attempt.newState == .sent || attempt.outcome.kind == .delivered ? nil : attempt.outcome.text,
                            id.rawValue, owner])
        guard db.changesCount == 1 else { return false }
        if dropsBody && attempt.newState == .sent {
            try dropBody(db, id, at: attempt.startedAt + attempt.duration)
        }
        var history: [String] = []
        for update in attempt.recipients {
            try db.cachedStatement(
                sql: "UPDATE recipient SET state = ?, last_reply = ? WHERE message_id = ? AND position = ? AND state = 'queued'"
            ).execute(arguments: [update.state.rawValue, update.reply, id.rawValue, update.position])
            let address = try String.fetchOne(
                db.cachedStatement(sql: "SELECT address FROM recipient WHERE message_id = ? AND position = ?"),
                arguments: [id.rawValue, update.position]) ?? "#\(update.position)"
            history.append("<\(address)> \(update.state.rawValue): \(update.reply)")
        }
        if attempt.recipients.isEmpty && (attempt.newState == .sent || attempt.newState == .failed) {
            try db.cachedStatement(
                sql: "UPDATE recipient SET state = ?, last_reply = ? WHERE message_id = ? AND state = 'queued'"
            ).execute(arguments: [attempt.newState.rawValue, attempt.outcome.text, id.rawValue])
        } else if attempt.newState == .sent || attempt.newState == .failed {
            // Recipients of batches never tried (the message gave up first) fail with it.
            try db.cachedStatement(
                sql: "UPDATE recipient SET state = 'failed', last_reply = ? WHERE message_id = ? AND state = 'queued'"
            ).execute(arguments: [attempt.outcome.text, id.rawValue])
        }
        try db.cachedStatement(sql: """
            INSERT INTO attempt (message_id, started_at, duration_ms, server, outcome, reply, recipients)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(
                arguments: [id.rawValue, attempt.startedAt.milliseconds, attempt.duration.wholeMilliseconds,
                            attempt.server, "\(attempt.outcome.kind)", attempt.outcome.text,
                            history.isEmpty ? nil : history.joined(separator: "\n")])
        return true
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

/// A message row without its content (the queue file was edited by hand or damaged).
private struct MissingContent: Error, CustomStringConvertible {
    var description: String { "the message's content is missing from the queue" }
}
