import ArgumentParser

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
            """,
        subcommands: [
            List.self,
            Enqueue.self,
            Sendmail.self,
        ])
}
