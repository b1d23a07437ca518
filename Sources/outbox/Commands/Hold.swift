import ArgumentParser
import OutboxStore

/// `outbox hold`: Hold messages: they are never sent until released.
struct Hold: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hold messages: they are never sent until released.",
        discussion: """
            Applies to queued and deferred messages; outboxd skips held mail until `outbox release`.

            A message being sent at this moment (in flight) is left alone and reported; the \
            command then exits 75 (EX_TEMPFAIL): try again once the send finished. An unknown id, \
            or a message in a state the action does not apply to, exits 65 (EX_DATAERR).

            Examples:
              outbox hold 0000002A 0000002B
              outbox list --json | jq -r .queue_id | outbox hold -
              outbox hold --all --recipient alice@example.org
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: Selection

    func run() async throws {
        try await AdminReport.perform(.hold, pastTense: "held", global: global, selection: selection)
    }
}
