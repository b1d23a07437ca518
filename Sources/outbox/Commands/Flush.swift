import ArgumentParser
import OutboxStore
import OutboxSystem

/// `outbox flush`: every deferred message becomes due now (Postfix's `postqueue -f`).
struct Flush: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make every deferred message due now.",
        discussion: """
            outboxd notices within a second and tries them with its usual number of workers. \
            Held messages stay held; use `outbox retry ID` for single messages.

            Examples:
              outbox flush
            """)

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let store = try await global.openQueue(forWriting: true)
        let flushed: [QueueID]
        do {
            flushed = try await store.flush(now: .current)
        } catch {
            throw queueFailure(error, path: store.path, action: "change")
        }
        print("flushed \(AdminReport.count(flushed.count))")
    }
}
