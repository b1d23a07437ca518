import GRDB
public import OutboxCore

/// Which messages a `list` or an `--all` action looks at. Every field narrows the selection;
/// an empty filter selects everything.
public struct QueueFilter: Sendable, Hashable {
    /// Only these messages (any message when nil).
    public var ids: [QueueID]?
    /// Only messages in one of these states (all states when empty).
    public var states: [QueueState] = []
    /// Only messages whose envelope sender contains this text (case-insensitive).
    public var sender: String?
    /// Only messages with a recipient whose address contains this text (case-insensitive).
    public var recipient: String?
    /// Only messages that arrived at least this long before `now`.
    public var olderThan: Duration?
    /// At most this many messages, oldest id first.
    public var limit: Int?

    public init(ids: [QueueID]? = nil, states: [QueueState] = [], sender: String? = nil, recipient: String? = nil,
                olderThan: Duration? = nil, limit: Int? = nil) {
        self.ids = ids
        self.states = states
        self.sender = sender
        self.recipient = recipient
        self.olderThan = olderThan
        self.limit = limit
    }

    /// The WHERE clause (or "" for no condition) and its arguments, for the `message` table.
    func sqlCondition(now: UnixTime) -> (sql: String, arguments: StatementArguments) {
        var clauses: [String] = []
        var arguments = StatementArguments()
        if let ids {
            clauses.append("id IN (\(ids.map { _ in "?" }.joined(separator: ", ")))")
            arguments += StatementArguments(ids.map(\.rawValue))
        }
        if !states.isEmpty {
            clauses.append("state IN (\(states.map { _ in "?" }.joined(separator: ", ")))")
            arguments += StatementArguments(states.map(\.rawValue))
        }
        if let sender, !sender.isEmpty {
            clauses.append("instr(lower(sender), lower(?)) > 0")
            arguments += [sender]
        }
        if let recipient, !recipient.isEmpty {
            clauses.append(
                "EXISTS (SELECT 1 FROM recipient r WHERE r.message_id = message.id AND instr(lower(r.address), lower(?)) > 0)")
            arguments += [recipient]
        }
        if let olderThan {
            clauses.append("created_at <= ?")
            arguments += [(now - olderThan).milliseconds]
        }
        return (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND "), arguments)
    }
}
