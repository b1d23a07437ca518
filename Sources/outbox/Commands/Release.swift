import ArgumentParser
import OutboxStore

/// `outbox release`: Release held messages: they are due at once.
struct Release: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Release held messages: they are due at once.",
        discussion: """
            Applies to held messages; they become due now (outboxd notices within a second).

            A message being sent at this moment (in flight) is left alone and reported; the \
            command then exits 75 (EX_TEMPFAIL): try again once the send finished. An unknown id, \
            or a message in a state the action does not apply to, exits 65 (EX_DATAERR).

            Examples:
              outbox release 0000002A 0000002B
              outbox list --json | jq -r .queue_id | outbox release -
              outbox release --all --older-than 1h
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: Selection

    func run() async throws {
        try await AdminReport.perform(.release, pastTense: "released", global: global, selection: selection)
    }
}
