import ArgumentParser
import Glibc
import OutboxCore
import OutboxStore

/// `outbox delete`: removes messages for good, after asking on a terminal.
struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete messages from the queue, with their recipients and attempt history.",
        discussion: """
            Asks for confirmation when run on a terminal, unless --yes is given (answering no \
            exits 1); without a terminal (a script, ids on stdin) it refuses unless --yes is given (exit 64). A message being \
            sent at this moment (in flight) is not deleted and is reported (exit 75, EX_TEMPFAIL); \
            an unknown id exits 65 (EX_DATAERR).

            Examples:
              outbox delete 0000002A
              outbox delete --yes --all --sender spammer@example.org
              outbox list --json | jq -r 'select(.state == "held") | .queue_id' | outbox delete --yes -
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: Selection

    @Flag(name: [.short, .long], help: "Do not ask for confirmation.")
    var yes = false

    func run() async throws {
        let yes = self.yes
        try await AdminReport.perform(.delete, pastTense: "deleted", global: global, selection: selection) { count in
            guard !yes else { return }
            guard isatty(0) == 1 else {
                throw ExitStatus.usage.fail("refusing to delete without --yes when stdin is not a terminal")
            }
            let prompt = Array("Delete \(AdminReport.count(count)) for good? [y/N] ".utf8)
            _ = prompt.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            let answer = (readLine() ?? "").lowercased()
            guard answer == "y" || answer == "yes" else {
                // Declining is not an error of usage or data: plain status 1, like apt's "Abort.".
                _ = ExitStatus.usage.fail("nothing deleted")
                throw ExitCode.failure
            }
        }
    }
}
