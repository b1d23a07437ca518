import ArgumentParser
import Foundation
import OutboxCore
import OutboxStore

/// Which messages an acting verb works on: ids as arguments, `-` to read ids from stdin, or
/// `--all` narrowed by the filters.
struct Selection: ParsableArguments {
    @Argument(help: ArgumentHelp("Queue ids (as `outbox list` shows them), or - to read ids from stdin.", valueName: "id"))
    var ids: [String] = []

    @Flag(name: .long, help: "Every message the filters select (by default those the action applies to).")
    var all = false

    @OptionGroup var filters: FilterOptions

    /// The ids to act on. For `--all`, the messages matching the filters (and, without `--state`,
    /// only those in one of `applicableStates`).
    func resolve(in store: QueueStore, applicableStates: [QueueState], now: UnixTime) async throws -> [QueueID] {
        if all {
            guard ids.isEmpty else { throw ExitStatus.usage.fail("give either queue ids or --all, not both") }
            let filter = try filters.filter(defaultStates: applicableStates)
            do {
                return try await store.list(filter: filter, now: now).map(\.id)
            } catch {
                throw queueFailure(error, path: store.path, action: "read")
            }
        }
        guard !filters.isNarrowing else {
            throw ExitStatus.usage.fail("--state, --sender, --recipient, --older-than and --limit select messages only with --all")
        }
        guard !ids.isEmpty else {
            throw ExitStatus.usage.fail("give queue ids, - to read them from stdin, or --all")
        }
        var texts: [String] = []
        for id in ids {
            if id == "-" {
                while let line = readLine() {
                    texts += line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
                }
            } else {
                texts.append(id)
            }
        }
        var result: [QueueID] = []
        for text in texts {
            guard let id = QueueID(text) else {
                throw ExitStatus.dataError.fail("\"\(text)\" is not a queue id (8 or more hex digits, as `outbox list` shows)")
            }
            if !result.contains(id) { result.append(id) }
        }
        return result
    }
}
