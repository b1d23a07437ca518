import Foundation
import GRDB
public import OutboxCore

// MARK: - What an admin action changed

/// An admin action that applies to chosen messages (`outbox hold ID…` and friends).
public enum AdminAction: String, Sendable, Hashable, CaseIterable {
    /// queued/deferred → held: never sent until released.
    case hold
    /// held → queued (or deferred, when it was tried before), due now.
    case release
    /// Removes the message, its recipients and its attempt history.
    case delete
    /// failed → queued, attempts reset to 0, recipients due again, due now.
    case requeue
    /// queued/deferred: due now.
    case retry

    /// The states a message must be in for the action to apply.
    public var applicableStates: [QueueState] {
        switch self {
        case .hold, .retry: [.queued, .deferred]
        case .release: [.held]
        case .delete: QueueState.allCases
        case .requeue: [.failed]
        }
    }
}

/// What an admin action did to each message it was given. Every message given lands in exactly
/// one of the four lists.
public struct AdminChange: Sendable, Hashable {
    /// Messages the action changed.
    public var changed: [QueueID] = []
    /// Messages a daemon is sending right now (live lease): left alone, so the send is not disturbed.
    public var inFlight: [QueueID] = []
    /// Ids with no message.
    public var unknown: [QueueID] = []
    /// Messages in a state the action does not apply to, with that state.
    public var skipped: [QueueID: QueueState] = [:]

    public init() {}
}

// MARK: - Show and stats

/// One delivery attempt, as `outbox show` prints it: the read form of the attempt history
/// (``AttemptRecord`` is what the dispatcher writes).
public struct AttemptEntry: Sendable, Hashable {
    public var startedAt: UnixTime
    public var duration: Duration
    public var server: String
    /// `DeliveryOutcome.Kind`: delivered, temporary, permanent, configuration.
    public var outcome: String
    /// The server's reply or libcurl's error.
    public var reply: String
}

/// Everything the queue knows about one message.
public struct QueueMessageDetail: Sendable, Hashable {
    public var entry: QueueEntry
    public var updatedAt: UnixTime
    /// The message as stored: RFC 5322, CRLF line ends, Bcc removed, without the Email Prefix.
    public var content: [UInt8]
    public var attempts: [AttemptEntry]
    /// When the body was dropped after delivery (`content` then holds the headers only); nil when
    /// the content is whole.
    public var contentDroppedAt: UnixTime? = nil
}

/// A failure reply and how often it was seen.
public struct FailureReason: Sendable, Hashable {
    public var reason: String
    public var count: Int
}

/// The queue at a glance (`outbox stats`).
public struct QueueStatistics: Sendable, Hashable {
    public var counts: QueueCounts
    /// Messages a daemon is sending right now.
    public var inFlight: Int
    public var sentLastHour: Int
    public var sentLastDay: Int
    public var failedLastHour: Int
    public var failedLastDay: Int
    /// The commonest non-delivered attempt replies of the last day, commonest first (at most 5).
    public var topFailureReasons: [FailureReason]
}

extension QueueStore {
    // MARK: - Acting

    /// Applies `action` to each of `ids` in one immediate transaction, and says what happened to each.
    ///
    /// Safe against a daemon sending one of them: the transaction takes SQLite's write lock first,
    /// and a message under a live lease is reported in ``AdminChange/inFlight`` and left alone,
    /// so the send finishes and is recorded as usual. A message not yet claimed is changed before
    /// any daemon can claim it (claims are atomic `UPDATE`s that skip held and deleted messages).
    public func apply(_ action: AdminAction, to ids: [QueueID], now: UnixTime) async throws -> AdminChange {
        try await pool.writeWithoutTransaction { db in
            var change = AdminChange()
            try db.inTransaction(.immediate) {
                for id in ids {
                    guard let row = try Row.fetchOne(
                        db, sql: "SELECT state, lease_expires_at FROM message WHERE id = ?", arguments: [id.rawValue])
                    else {
                        change.unknown.append(id)
                        continue
                    }
                    let state = QueueState(rawValue: row["state"]) ?? .queued
                    let leaseExpiry: Int64? = row["lease_expires_at"]
                    if !action.applicableStates.contains(state) {
                        change.skipped[id] = state
                    } else if let leaseExpiry, leaseExpiry > now.milliseconds {
                        change.inFlight.append(id)
                    } else {
                        if try Self.execute(action, on: id, now: now, db: db) {
                            change.changed.append(id)
                        } else {
                            change.inFlight.append(id)
                        }
                    }
                }
                return .commit
            }
            return change
        }
    }

    /// Runs one action's statements on one message; true when the message changed.
    private static func execute(_ action: AdminAction, on id: QueueID, now: UnixTime, db: Database) throws -> Bool {
        // Every statement repeats "no live lease" (?3) so a change can never land under a send,
        // and clears an expired lease: a daemon that outlived its lease then finds it lost and
        // records nothing over the admin's change (at worst a duplicate, never a lost hold).
        let target = ", lease_owner = NULL, lease_expires_at = NULL WHERE id = ?2 AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)"
        let deleteTarget = "WHERE id = ?2 AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)"
        let arguments: StatementArguments = [now.milliseconds, id.rawValue, now.milliseconds]
        switch action {
        case .hold:
            try db.execute(sql: "UPDATE message SET state = 'held', updated_at = ?1 \(target)", arguments: arguments)
        case .release:
            try db.execute(
                sql: """
                    UPDATE message SET state = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END,
                        updated_at = ?1, next_attempt_at = ?1 \(target)
                    """,
                arguments: arguments)
        case .delete:
            // Recipients and attempts go with it (ON DELETE CASCADE; foreign_keys is on).
            try db.execute(sql: "DELETE FROM message \(deleteTarget)", arguments: arguments)
        case .requeue:
            try db.execute(
                sql: """
                    UPDATE message SET state = 'queued', attempts = 0, last_error = NULL,
                        updated_at = ?1, next_attempt_at = ?1 \(target)
                    """,
                arguments: arguments)
            guard db.changesCount > 0 else { return false }
            try db.execute(
                sql: "UPDATE recipient SET state = 'queued', last_reply = NULL WHERE message_id = ? AND state = 'failed'",
                arguments: [id.rawValue])
            return true
        case .retry:
            try db.execute(sql: "UPDATE message SET next_attempt_at = ?1, updated_at = ?1 \(target)", arguments: arguments)
        }
        return db.changesCount > 0
    }

    /// Makes every deferred message due now (`outbox flush`).
    /// - Returns: the messages that became due earlier than planned.
    public func flush(now: UnixTime) async throws -> [QueueID] {
        try await pool.write { db in
            try Int64.fetchAll(
                db,
                sql: "UPDATE message SET next_attempt_at = ?1, updated_at = ?1 WHERE state = 'deferred' AND next_attempt_at > ?1 RETURNING id",
                arguments: [now.milliseconds]
            ).map(QueueID.init(rawValue:)).sorted()
        }
    }

    /// Deletes finished messages (`sent` or `failed`) whose last change is at least `olderThan` ago.
    /// - Returns: the deleted messages.
    public func purge(state: QueueState, olderThan: Duration, now: UnixTime) async throws -> [QueueID] {
        precondition(state == .sent || state == .failed, "only finished messages are purged")
        return try await pool.write { db in
            try Int64.fetchAll(
                db, sql: "DELETE FROM message WHERE state = ? AND updated_at <= ? RETURNING id",
                arguments: [state.rawValue, (now - olderThan).milliseconds]
            ).map(QueueID.init(rawValue:)).sorted()
        }
    }

    // MARK: - Inspecting

    /// One message with its content and attempt history, or nil when there is no such id.
    public func message(_ id: QueueID, now: UnixTime) async throws -> QueueMessageDetail? {
        guard let entry = try await list(filter: QueueFilter(ids: [id]), now: now).first else { return nil }
        return try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT content, dropped_at, updated_at FROM message JOIN message_content ON message_id = id WHERE id = ?
                """,
                                             arguments: [id.rawValue])
            else { return nil }
            let attempts = try Row.fetchAll(
                db, sql: "SELECT started_at, duration_ms, server, outcome, reply FROM attempt WHERE message_id = ? ORDER BY id",
                arguments: [id.rawValue]
            ).map { r in
                AttemptEntry(startedAt: UnixTime(milliseconds: r["started_at"]), duration: .milliseconds(r["duration_ms"] as Int64),
                             server: r["server"], outcome: r["outcome"], reply: r["reply"])
            }
            return QueueMessageDetail(entry: entry, updatedAt: UnixTime(milliseconds: row["updated_at"]),
                                      content: [UInt8](row["content"] as Data), attempts: attempts,
                                      contentDroppedAt: (row["dropped_at"] as Int64?).map(UnixTime.init(milliseconds:)))
        }
    }

    /// Counts, recent throughput and the commonest failure replies.
    public func statistics(now: UnixTime) async throws -> QueueStatistics {
        let counts = try await counts()
        return try await pool.read { db in
            func count(_ state: QueueState, since: Duration) throws -> Int {
                try Int.fetchOne(db, sql: "SELECT count(*) FROM message WHERE state = ? AND updated_at >= ?",
                                 arguments: [state.rawValue, (now - since).milliseconds]) ?? 0
            }
            let inFlight = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM message WHERE lease_owner IS NOT NULL AND lease_expires_at > ?",
                arguments: [now.milliseconds]) ?? 0
            let reasons = try Row.fetchAll(
                db,
                sql: """
                    SELECT reply, count(*) AS n FROM attempt WHERE outcome != 'delivered' AND started_at >= ?
                    GROUP BY reply ORDER BY n DESC, reply LIMIT 5
                    """,
                arguments: [(now - .seconds(86_400)).milliseconds]
            ).map { FailureReason(reason: $0["reply"], count: $0["n"]) }
            return QueueStatistics(
                counts: counts, inFlight: inFlight,
                sentLastHour: try count(.sent, since: .seconds(3600)), sentLastDay: try count(.sent, since: .seconds(86_400)),
                failedLastHour: try count(.failed, since: .seconds(3600)),
                failedLastDay: try count(.failed, since: .seconds(86_400)), topFailureReasons: reasons)
        }
    }
}

extension QueueStore {
    /// The message taken in from the spool file `name`, once the daemon has queued it.
    public func queueID(spoolName name: String) async throws -> QueueID? {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT id FROM message WHERE spool_name = ?", arguments: [name]).map(QueueID.init(rawValue:))
        }
    }
}
