import ArgumentParser
import OutboxConfig
import OutboxCore
import OutboxStore

/// `--state`, `--sender`, `--recipient`, `--older-than`, `--limit`: which messages `list` and the
/// `--all` form of the acting verbs look at.
struct FilterOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Only messages in this state (queued, deferred, held, sent, failed); repeatable.", valueName: "state"))
    var state: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only messages whose sender contains this text.", valueName: "text"))
    var sender: String?

    @Option(name: .long, help: ArgumentHelp("Only messages with a recipient containing this text.", valueName: "text"))
    var recipient: String?

    @Option(name: .long, help: ArgumentHelp("Only messages that arrived at least this long ago (30s, 5m, 2h, 3d).", valueName: "age"))
    var olderThan: String?

    @Option(name: .long, help: "At most this many messages (oldest first).")
    var limit: Int?

    /// True when any filter was given.
    var isNarrowing: Bool { !state.isEmpty || sender != nil || recipient != nil || olderThan != nil || limit != nil }

    /// The filter, with `defaultStates` when no `--state` was given.
    func filter(defaultStates: [QueueState] = []) throws -> QueueFilter {
        var states: [QueueState] = []
        for name in state {
            guard let value = QueueState(rawValue: name.lowercased()) else {
                throw ExitStatus.usage.fail("unknown state \"\(name)\" (use queued, deferred, held, sent or failed)")
            }
            states.append(value)
        }
        var age: Duration?
        if let olderThan {
            guard let parsed = DurationParser.parse(olderThan) else {
                throw ExitStatus.usage.fail("--older-than: \"\(olderThan)\" is not a duration (use 30s, 5m, 2h or 3d)")
            }
            age = parsed
        }
        if let limit, limit < 0 { throw ExitStatus.usage.fail("--limit must be 0 or more, got \(limit)") }
        return QueueFilter(states: states.isEmpty ? defaultStates : states, sender: sender, recipient: recipient,
                           olderThan: age, limit: limit)
    }
}
