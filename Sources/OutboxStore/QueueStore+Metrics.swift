import GRDB
public import OutboxCore

/// What the queue file itself says about delivery, for the Prometheus metrics: everything here
/// survives a restart of the daemon, and reads the same from `outboxd` and from the CLI.
public struct QueueMetricsSnapshot: Sendable, Hashable {
    public var counts: QueueCounts
    /// Attempts so far by outcome kind (`delivered`, `temporary`, `permanent`, `configuration`) and
    /// reply class (`2xx`, `4xx`, `5xx`, …, `none`); never decreases (purge leaves it alone).
    public var attempts: [AttemptCountKey: Int]
    public var lastAttemptAt: UnixTime?
    public var lastDeliveryAt: UnixTime?
    /// The reason of the latest attempt that was not a temporary failure, when it was a problem with
    /// our settings (delivery has been failing since, or until a success clears it); nil otherwise.
    public var configurationProblem: String?

    public init(counts: QueueCounts = QueueCounts(), attempts: [AttemptCountKey: Int] = [:],
                lastAttemptAt: UnixTime? = nil, lastDeliveryAt: UnixTime? = nil, configurationProblem: String? = nil) {
        self.counts = counts
        self.attempts = attempts
        self.lastAttemptAt = lastAttemptAt
        self.lastDeliveryAt = lastDeliveryAt
        self.configurationProblem = configurationProblem
    }
}

/// One row of the attempt counters.
public struct AttemptCountKey: Sendable, Hashable {
    public var outcome: String
    public var replyClass: String
    public init(outcome: String, replyClass: String) {
        self.outcome = outcome
        self.replyClass = replyClass
    }
}

extension QueueStore {
    /// Reads the metrics' queue side in a few indexed lookups (no scan, whatever the queue's size):
    /// counts from `message_count`, attempt counters from `attempt_count`, and the newest attempts
    /// by id (ids grow with time).
    public func metricsSnapshot() async throws -> QueueMetricsSnapshot {
        let counts = try await counts()
        return try await pool.read { db in
            var snapshot = QueueMetricsSnapshot(counts: counts)
            // A queue last opened by an older outboxd lacks the counters until the daemon migrates it.
            if try db.tableExists("attempt_count") {
                for row in try Row.fetchAll(db, sql: "SELECT outcome, reply_class, n, last_at FROM attempt_count") {
                    let key = AttemptCountKey(outcome: row["outcome"], replyClass: row["reply_class"])
                    snapshot.attempts[key] = row["n"]
                    let at = UnixTime(milliseconds: row["last_at"])
                    snapshot.lastAttemptAt = max(snapshot.lastAttemptAt ?? at, at)
                    if key.outcome == "delivered" { snapshot.lastDeliveryAt = max(snapshot.lastDeliveryAt ?? at, at) }
                }
            }
            // The latest attempt that decided something (bounded: the newest 10 000 attempts).
            if let row = try Row.fetchOne(db, sql: """
                SELECT outcome, reply FROM (SELECT outcome, reply FROM attempt ORDER BY id DESC LIMIT 10000)
                WHERE outcome != 'temporary' LIMIT 1
                """), row["outcome"] == "configuration" {
                snapshot.configurationProblem = row["reply"]
            }
            return snapshot
        }
    }
}
