import ArgumentParser
import OutboxStore

/// `outbox retry`: Try queued or deferred messages now instead of at their next attempt.
struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Try queued or deferred messages now instead of at their next attempt.",
        discussion: """
            Applies to queued and deferred messages (`outbox flush` does this for every deferred one).

            A message being sent at this moment (in flight) is left alone and reported; the \
            command then exits 75 (EX_TEMPFAIL): try again once the send finished. An unknown id, \
            or a message in a state the action does not apply to, exits 65 (EX_DATAERR).

            Examples:
              outbox retry 0000002A 0000002B
              outbox list --json | jq -r .queue_id | outbox retry -
              outbox retry --all --recipient example.org
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: Selection

    func run() async throws {
        try await AdminReport.perform(.retry, pastTense: "retried", global: global, selection: selection)
    }
}
