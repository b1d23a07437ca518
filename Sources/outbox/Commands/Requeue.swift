import ArgumentParser
import OutboxStore

/// `outbox requeue`: Give failed messages another chance: failed becomes queued, attempts reset.
struct Requeue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Give failed messages another chance: failed becomes queued, attempts reset.",
        discussion: """
            Applies to failed messages; their failed recipients are tried again, now. The attempt history is kept.

            A message being sent at this moment (in flight) is left alone and reported; the \
            command then exits 75 (EX_TEMPFAIL): try again once the send finished. An unknown id, \
            or a message in a state the action does not apply to, exits 65 (EX_DATAERR).

            Examples:
              outbox requeue 0000002A 0000002B
              outbox list --json | jq -r .queue_id | outbox requeue -
              outbox requeue --all --state failed --sender xnat
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: Selection

    func run() async throws {
        try await AdminReport.perform(.requeue, pastTense: "requeued", global: global, selection: selection)
    }
}
