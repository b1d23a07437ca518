import Foundation
import GRDB
public import OutboxCore
import Synchronization

/// A message taken out of the queue for one delivery attempt. While the lease lasts no other
/// daemon (or worker) claims it; if the daemon dies, the lease lapses and the message is due again.
///
/// The input of an attempt (what to send, and the history ``AttemptDecision`` needs); what comes
/// out is an ``AttemptRecord``. Kept apart from the admin's ``QueueEntry``, which has no content
/// and no lease.
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

/// One attempt as the queue stores it: its ``AttemptDecision`` with when, how long and where, and
/// the recipients by their stored positions.
///
/// The write form of an attempt; ``AttemptEntry`` is the read form (`outbox show`), which has the
/// history's text only. Separate because the writer needs the per-recipient updates and the new
/// state, which the history does not keep.
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

    /// One recipient's new state and the reply that decided it, by the recipient's stored position
    /// (``RecipientResult`` says the same by its index in one transaction's envelope, which is all
    /// the transport and the decision know; a batch's index 0 is rarely position 0).
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
/// made (if any) and lease its next message (if it wants one), in one transaction with other
/// workers' turns (``QueueStore/takeTurns(_:now:owner:leaseFor:judge:overdueAfter:)``).
public struct DeliveryTurn: Sendable {
    public var finishing: (id: QueueID, attempt: AttemptRecord)?
    public var claims: Bool
    /// The worker's own lease owner id (unique per worker); nil: the owner `takeTurns` is given.
    public var owner: String?

    public init(finishing: (id: QueueID, attempt: AttemptRecord)?, claims: Bool, owner: String? = nil) {
        self.finishing = finishing
        self.claims = claims
        self.owner = owner
    }

    public struct Result: Sendable {
        /// For a turn that finished an attempt: whether it was recorded under its lease (false: the
        /// lease was lost — the attempt and its per-recipient results were recorded all the same,
        /// see ``QueueStore/finish(_:_:owner:attempt:dropsBody:)``).
        public var recorded: Bool?
        /// The leased message, when one was wanted and one was due.
        public var claimed: ClaimedMessage?
    }
}

/// What a claiming daemon knows about the owner of a lease it meets.
public enum LeaseOwnerStatus: Sendable, Hashable {
    /// A running worker: its lease is never taken, however old it looks (a wall-clock step can
    /// make any lease look expired; a live send must not be sent again).
    case alive
    /// Its process is gone (killed, crashed): the lease is taken over at once, and the message's
    /// unclean stops are counted (see ``QueueStore/uncleanStopsBeforeHold``).
    case gone
    /// Cannot be judged (another host's owner): the lease's wall-clock expiry decides.
    case unknown
}

/// Judges lease owners; the default knows nothing and leaves everything to the expiry.
public typealias LeaseOwnerJudge = @Sendable (String) -> LeaseOwnerStatus

/// What ``QueueStore/recoverLeases(judge:)`` did at startup.
public struct RecoveredLeases: Sendable, Hashable {
    /// Messages returned to the queue.
    public var released = 0
    /// Messages held because they were in flight at their second unclean stop in a row.
    public var held: [QueueID] = []

    public init(released: Int = 0, held: [QueueID] = []) {
        self.released = released
        self.held = held
    }
}

extension QueueStore {
    /// A message that was in flight when its daemon stopped uncleanly this many times in a row is
    /// held instead of claimed again, so one message can never crash-loop the daemon.
    public static let uncleanStopsBeforeHold = 2

    /// The reason a poison message is held with.
    public static var poisonHoldReason: String { "held after \(uncleanStopsBeforeHold) unclean stops while sending it" }

    /// Several delivery workers' turns in one transaction (one fsync): first every finished
    /// attempt is recorded, then one message is leased for each turn that asks for one, each to
    /// its turn's owner. The primitive of outboxd's group commit (its `DeliveryLedger` gathers
    /// the turns).
    /// Blocks the calling thread: call it from a dedicated thread (the delivery lanes' own).
    /// - Parameter owner: the lease owner of turns that do not name their own.
    /// - Returns: one result per turn, in order.
    public func takeTurns(_ turns: [DeliveryTurn], now: UnixTime, owner: String, leaseFor duration: Duration,
                   judge: @escaping LeaseOwnerJudge = { _ in .unknown }, overdueAfter: Duration? = nil) throws -> [DeliveryTurn.Result] {
        let dropsBody = !keepsSentContent.load(ordering: .relaxed)
        return try pool.write { db in
            var results = try turns.map { turn in
                DeliveryTurn.Result(recorded: try turn.finishing.map {
                    try Self.finish(db, $0.id, owner: turn.owner ?? owner, attempt: $0.attempt, dropsBody: dropsBody)
                })
            }
            let wanted = turns.indices.filter { turns[$0].claims }
            guard !wanted.isEmpty else { return results }
            let claimed = try Self.claimDue(db, owners: wanted.map { turns[$0].owner ?? owner }, now: now,
                                            leaseFor: duration, judge: judge, overdueAfter: overdueAfter)
            for (index, message) in zip(wanted, claimed) {
                results[index].claimed = message
            }
            return results
        }
    }

    /// Leases one due message to each of `owners` (fewer when fewer are due), in that order:
    /// queued or deferred, next attempt passed, no live lease, oldest due first.
    /// - Parameters:
    ///   - judge: says whether a lease's owner still runs; by default only expiry frees a lease.
    ///   - overdueAfter: a next attempt further ahead than this (`delivery.max_retry_delay`) was
    ///     scheduled by a clock that has since gone back: such a message is due now.
    static func claimDue(_ db: Database, owners: [String], now: UnixTime, leaseFor duration: Duration,
                         judge: LeaseOwnerJudge, overdueAfter: Duration?) throws -> [ClaimedMessage] {
        guard !owners.isEmpty else { return [] }
        // Leased messages are few (one per busy worker): fetch enough due ones that the wanted
        // number remains after skipping every leased one.
        let leased = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM message INDEXED BY message_leased WHERE lease_owner IS NOT NULL")) ?? 0
        var candidates = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT id, lease_owner, lease_expires_at FROM message INDEXED BY message_due
                WHERE state IN ('queued', 'deferred') AND next_attempt_at <= ?
                ORDER BY next_attempt_at LIMIT ?
                """),
            arguments: [now.milliseconds, owners.count + leased])
        if let overdueAfter, candidates.count < owners.count + leased {
            // The clock went back: what was scheduled at most `overdueAfter` ahead now lies further.
            candidates += try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT id, lease_owner, lease_expires_at FROM message INDEXED BY message_due
                    WHERE state IN ('queued', 'deferred') AND next_attempt_at > ?
                    ORDER BY next_attempt_at LIMIT ?
                    """),
                arguments: [(now + overdueAfter).milliseconds, owners.count + leased])
        }
        var statuses: [String: LeaseOwnerStatus] = [:]
        var claimed: [ClaimedMessage] = []
        for candidate in candidates where claimed.count < owners.count {
            let id: Int64 = candidate["id"]
            if let holder = candidate["lease_owner"] as String? {
                let status = statuses[holder] ?? judge(holder)
                statuses[holder] = status
                switch status {
                case .alive:
                    continue
                case .unknown where (candidate["lease_expires_at"] as Int64? ?? 0) > now.milliseconds:
                    continue
                case .gone, .unknown:
                    // Its sender stopped without recording an outcome.
                    if try holdIfPoison(db, id: id) { continue }
                }
            }
            try db.cachedStatement(sql: "UPDATE message SET lease_owner = ?, lease_expires_at = ? WHERE id = ?")
                .execute(arguments: [owners[claimed.count], (now + duration).milliseconds, id])
            if let message = try leasedMessage(db, id: id) {
                claimed.append(message)
            }
        }
        return claimed
    }

    /// Counts an unclean stop for message `id`, whose lease was left behind by a sender that is
    /// gone, and holds it when that makes ``uncleanStopsBeforeHold`` in a row.
    /// - Returns: true when the message was held.
    static func holdIfPoison(_ db: Database, id: Int64) throws -> Bool {
        let stops = try Int.fetchOne(
            db.cachedStatement(sql: "UPDATE message SET unclean_stops = unclean_stops + 1 WHERE id = ? RETURNING unclean_stops"),
            arguments: [id]) ?? 0
        guard stops >= uncleanStopsBeforeHold else { return false }
        try db.cachedStatement(sql: """
            UPDATE message SET state = 'held', last_error = ?, lease_owner = NULL, lease_expires_at = NULL,
                unclean_stops = 0
            WHERE id = ?
            """).execute(arguments: [poisonHoldReason, id])
        return true
    }

    /// The content and still-queued recipients of a message just leased; nil when it cannot be
    /// sent (it was failed or finished here instead).
    static func leasedMessage(_ db: Database, id: Int64) throws -> ClaimedMessage? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT sender, attempts, created_at FROM message WHERE id = ?"), arguments: [id])
        else { return nil }
        let recipientsOf = try db.cachedStatement(
            sql: "SELECT position, address, state FROM recipient WHERE message_id = ? ORDER BY position")
        let contentOf = try db.cachedStatement(sql: "SELECT content FROM message_content WHERE message_id = ?")
        do {
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
            if positions.isEmpty {
                // Every recipient has its result already (an attempt whose lease was lost recorded
                // them): finish the message without sending it again.
                try db.execute(
                    sql: """
                        UPDATE message SET state = ?, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?
                        """,
                    arguments: [alreadySent > 0 ? QueueState.sent.rawValue : QueueState.failed.rawValue, id])
                return nil
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

    /// Stores an attempt's outcome and releases the lease.
    ///
    /// When `owner` no longer holds the lease (an admin acted, or another daemon took it over), the
    /// attempt is still recorded truthfully — its history entry and per-recipient results (so a
    /// later claim never sends to a recipient this attempt delivered to) — but the message's state
    /// is left to whoever holds it now, except that a message with no recipient left to try is
    /// finished.
    /// - Parameter dropsBody: a message now sent keeps only its headers (`queue.keep_sent_content` off).
    /// - Returns: false when the lease was lost (expired and taken, or the message deleted).
    static func finish(
        _ db: Database, _ id: QueueID, owner: String, attempt: AttemptRecord, dropsBody: Bool
    ) throws -> Bool {
        try db.cachedStatement(sql: """
            UPDATE message SET state = ?, attempts = attempts + 1, updated_at = ?,
                next_attempt_at = COALESCE(?, next_attempt_at), last_error = ?,
                lease_owner = NULL, lease_expires_at = NULL, unclean_stops = 0
            WHERE id = ? AND lease_owner = ?
            """).execute(
                arguments: [attempt.newState.rawValue, (attempt.startedAt + attempt.duration).milliseconds,
                            attempt.nextAttemptAt?.milliseconds,
                            attempt.newState == .sent || attempt.outcome.kind == .delivered ? nil : attempt.outcome.text,
                            id.rawValue, owner])
        let underLease = db.changesCount == 1
        if !underLease {
            // The lease was lost while the send ran. What the server said still happened: record the
            // attempt and its recipients' results against the message, leave its state to whoever
            // holds it now.
            try db.cachedStatement(sql: """
                UPDATE message SET attempts = attempts + 1, updated_at = ?, unclean_stops = 0 WHERE id = ?
                """).execute(arguments: [(attempt.startedAt + attempt.duration).milliseconds, id.rawValue])
            guard db.changesCount == 1 else { return false }  // deleted meanwhile
        } else if dropsBody && attempt.newState == .sent {
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
        if !underLease, attempt.newState == .sent || attempt.newState == .failed {
            // Nobody is left to send to: a waiting message is finished now, so nobody sends it again
            // (a held one stays held — the admin decided — and is finished when claimed after release).
            try db.cachedStatement(sql: """
                UPDATE message SET state = ?, last_error = ?
                WHERE id = ? AND state IN ('queued', 'deferred')
                  AND NOT EXISTS (SELECT 1 FROM recipient WHERE message_id = ?1 AND state = 'queued')
                """).execute(arguments: [attempt.newState.rawValue, attempt.newState == .sent ? nil : attempt.outcome.text,
                                         id.rawValue])
        }
        return underLease
    }

    /// Gives a claimed message back untouched (shutdown before its send started).
    public func release(_ id: QueueID, owner: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE message SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?",
                arguments: [id.rawValue, owner])
        }
    }

    /// Releases leases whose owner is known to be gone (`judge` says `.gone`), so mail a killed
    /// daemon was sending is due at once instead of when the lease runs out; a message that was in
    /// flight at its ``uncleanStopsBeforeHold``-th unclean stop in a row is held instead.
    public func recoverLeases(judge: @escaping LeaseOwnerJudge) async throws -> RecoveredLeases {
        try await pool.write { db in
            let leased = try Row.fetchAll(db, sql: "SELECT id, lease_owner FROM message WHERE lease_owner IS NOT NULL")
            var recovered = RecoveredLeases()
            var statuses: [String: LeaseOwnerStatus] = [:]
            for row in leased {
                let owner: String = row["lease_owner"]
                let status = statuses[owner] ?? judge(owner)
                statuses[owner] = status
                guard status == .gone else { continue }
                let id: Int64 = row["id"]
                if try Self.holdIfPoison(db, id: id) {
                    recovered.held.append(QueueID(rawValue: id))
                } else {
                    try db.execute(sql: "UPDATE message SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ?",
                                   arguments: [id])
                    recovered.released += 1
                }
            }
            return recovered
        }
    }

    /// Messages held by poison-message containment (see ``uncleanStopsBeforeHold``) and not released
    /// yet, oldest first: up to `limit` ids, and how many there are.
    public func heldAsPoison(limit: Int = 3) async throws -> (ids: [QueueID], count: Int) {
        try await pool.read { db in
            let ids = try Int64.fetchAll(
                db, sql: "SELECT id FROM message WHERE state = 'held' AND last_error = ? ORDER BY id LIMIT ?",
                arguments: [Self.poisonHoldReason, limit])
            let count = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM message WHERE state = 'held' AND last_error = ?",
                arguments: [Self.poisonHoldReason]) ?? 0
            return (ids.map(QueueID.init(rawValue:)), count)
        }
    }

    /// When the earliest queued or deferred message falls due (nil when none is waiting).
    /// Leases that ran out by `now` are left out: their owners are alive (or would have been taken
    /// over at the claim), so waking for them would only spin.
    public func nextDueTime(now: UnixTime? = nil) async throws -> UnixTime? {
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
                    WHERE lease_owner IS NOT NULL AND state IN ('queued', 'deferred') AND lease_expires_at > ?
                    """, arguments: [now?.milliseconds ?? Int64.min])
            return [unleased, leaseEnd].compactMap { $0 }.min().map(UnixTime.init(milliseconds:))
        }
    }
}

// MARK: Rescue from a lost queue file

/// A message that still has recipients to deliver to, as the rescue writes it back to the spool.
public struct UnsentMessage: Sendable {
    public var id: QueueID
    public var state: QueueState
    public var sender: String
    /// The recipients still queued (those already sent to or failed are left out).
    public var recipients: [String]
    /// RFC 5322, CRLF, Bcc removed.
    public var content: [UInt8]
}

extension QueueStore {
    /// Queued, deferred and held messages with at least one recipient still queued, by id after
    /// `id`, at most `limit`. Reads through the writer connection, which keeps the file it opened
    /// even when that file has been deleted (what the rescue needs).
    public func unsentMessages(after id: QueueID?, limit: Int) async throws -> [UnsentMessage] {
        try await pool.writeWithoutTransaction { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT m.id, m.state, m.sender, c.content FROM message m JOIN message_content c ON c.message_id = m.id
                WHERE m.id > ? AND m.state IN ('queued', 'deferred', 'held') ORDER BY m.id LIMIT ?
                """, arguments: [id?.rawValue ?? 0, limit])
            return try rows.compactMap { row in
                let id: Int64 = row["id"]
                let recipients = try String.fetchAll(
                    db, sql: "SELECT address FROM recipient WHERE message_id = ? AND state = 'queued' ORDER BY position",
                    arguments: [id])
                guard !recipients.isEmpty, let state = QueueState(rawValue: row["state"]) else { return nil }
                let content: Data = row["content"]
                return UnsentMessage(id: QueueID(rawValue: id), state: state, sender: row["sender"], recipients: recipients,
                                     content: [UInt8](content))
            }
        }
    }
}

/// A message row without its content (the queue file was edited by hand or damaged).
private struct MissingContent: Error, CustomStringConvertible {
    var description: String { "the message's content is missing from the queue" }
}
