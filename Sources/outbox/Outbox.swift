import ArgumentParser
import OutboxCore

/// `outbox`: the admin's view of the queue.
@main
struct Outbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Inspect and manage the outbox mail queue.",
        discussion: """
            Reads the queue database named in the configuration (queue.database), safely while \
            outboxd runs.

            Examples:
              outbox list
              outbox list --state deferred --json
              outbox show 0000002A
              outbox hold --all --recipient alice@example.org
              outbox stats --json

            Acting verbs (flush, retry, hold, release, delete, requeue, purge) open the queue \
            read-write: run them as root or the outbox user. outboxd notices a change within a second.

            Shell completions: outbox --generate-completion-script bash (or zsh, fish).
            """,
        version: OutboxVersion.current,
        subcommands: [
            List.self, Show.self, Stats.self, Flush.self, Retry.self, Hold.self, Release.self, Delete.self,
            Requeue.self, Purge.self, Enqueue.self, Sendmail.self, Mailq.self, ImportXNAT.self, TestSend.self, CheckConfig.self,
        ])
}
