import ArgumentParser
import OutboxConfig
import OutboxCore
import OutboxStore
import OutboxSystem

/// `outbox purge`: forgets finished mail after a while (sent and failed messages are kept until then).
struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete sent or failed messages that finished long enough ago.",
        discussion: """
            outbox keeps finished messages (for `outbox show` and the attempt history) until they \
            are purged. The age counts from the message's last change (when it was sent or failed).

            Examples:
              outbox purge --state sent --older-than 30d
              outbox purge --state failed --older-than 90d
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("sent or failed.", valueName: "state"))
    var state: String

    @Option(name: .long, help: ArgumentHelp("Minimum age since the message finished (30d, 12h, …).", valueName: "age"))
    var olderThan: String

    func run() async throws {
        guard let finished = QueueState(rawValue: state.lowercased()), finished == .sent || finished == .failed else {
            throw ExitStatus.usage.fail("--state must be sent or failed, got \"\(state)\"")
        }
        guard let age = DurationParser.parse(olderThan) else {
            throw ExitStatus.usage.fail("--older-than: \"\(olderThan)\" is not a duration (use 30d, 12h, 5m)")
        }
        let store = try await global.openQueue(forWriting: true)
        let purged: [QueueID]
        do {
            purged = try await store.purge(state: finished, olderThan: age, now: .current)
        } catch {
            throw queueFailure(error, path: store.path, action: "change")
        }
        print("purged \(AdminReport.count(purged.count))")
    }
}
