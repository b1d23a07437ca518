import Logging
import OutboxCore
import OutboxStore
import ServiceLifecycle
import Systemd

/// Keeps systemd informed: `READY=1` when started (the queue is open and the spool watched by
/// then), a one-line `STATUS=` when something changed (at most once a second), watchdog pings
/// while the loops are alive, and `STOPPING=1` on shutdown. Runs last, so it stops first.
struct StatusReporter: Service {
    let destination: String
    let smtpEnabled: Bool
    let store: QueueStore
    let state: DaemonState
    let notifier: Notifier
    let logger: Logger
    let now: @Sendable () -> UnixTime

    func run() async throws {
        var lastChanges: UInt64 = .max
        var lastText = ""
        notifier.ready(status: await statusLine())
        logger.notice("Ready")
        let watchdog = notifier.watchdogInterval
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let snapshot = state.snapshot
            if snapshot.changes != lastChanges || lastText.contains(" ago") {
                lastChanges = snapshot.changes
                let text = await statusLine()
                if text != lastText {
                    notifier.status(text)
                    lastText = text
                }
            }
            if watchdog != nil { notifier.watchdog() }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
        notifier.stopping(status: "stopping")
        logger.notice("Stopping")
    }

    /// `smtp.example.org:587 STARTTLS · 12 queued, 3 deferred (oldest 2h), 0 failed · last: 250 OK 3s ago`
    func statusLine() async -> String {
        let snapshot = state.snapshot
        guard let counts = try? await store.counts() else { return "cannot read the queue" }
        let waiting = counts[.queued] + counts[.deferred]
        if !smtpEnabled {
            return "SMTP disabled · \(waiting + counts[.held]) held"
        }
        var parts: [String] = []
        if let problem = snapshot.configurationProblem {
            parts.append("delivery failing: \(problem)")
        } else {
            parts.append(destination)
        }
        var queue = "\(counts[.queued]) queued, \(counts[.deferred]) deferred"
        if let oldest = counts.oldestWaiting, waiting > 0 { queue += " (oldest \(RelativeTime.describe(now() - oldest)))" }
        queue += ", \(counts[.failed]) failed"
        if counts[.held] > 0 { queue += ", \(counts[.held]) held" }
        parts.append(queue)
        if let problem = snapshot.intakeProblem { parts.append("intake paused: \(problem)") }
        if snapshot.quarantined > 0 { parts.append("\(snapshot.quarantined) rejected to failed/") }
        if let last = snapshot.lastReply {
            parts.append("last: \(last.text.prefix(60)) \(RelativeTime.describe(now() - last.at)) ago")
        }
        return parts.joined(separator: " · ")
    }
}
