import GRDB

extension QueueStore {
    /// What each attempt of a message decided per recipient, oldest attempt first: one text per
    /// attempt, one line per recipient (`<a@example.org> failed: 550 5.1.1 user unknown`), empty
    /// when the attempt recorded none (an attempt that never reached RCPT still lists its
    /// recipients as queued).
    public func recipientHistory(of id: QueueID) async throws -> [[String]] {
        try await pool.read { db in
            try String?.fetchAll(db, sql: "SELECT recipients FROM attempt WHERE message_id = ? ORDER BY id", arguments: [id.rawValue])
                .map { $0.map { $0.split(separator: "\n").map(String.init) } ?? [] }
        }
    }
}
