import GRDB

/// Tells whether anyone else committed to the queue since the last look, cheaply.
///
/// SQLite's `PRAGMA data_version` "provides an indication that the database file has been
/// modified": its value changes on a connection when *another* connection commits. So the probe
/// keeps one connection of its own (a pool would hand out different connections, whose values
/// cannot be compared). Reads run on GRDB's queue for that connection, never on the caller's thread.
public final class QueueChangeProbe: Sendable {
    private let connection: DatabaseQueue

    /// Opens a read-only connection to the queue at `path` (which must already exist, in WAL mode).
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        configuration.label = "outbox.queue.changes"
        connection = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// The connection's current `data_version`; compare two answers for equality only.
    public func dataVersion() async throws -> Int64 {
        try await connection.read { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
    }

    /// Closes the connection (before the daemon records a clean stop); later calls fail.
    public func close() throws {
        try connection.close()
    }
}
