import Logging
import OutboxCore
import OutboxStore
import ServiceLifecycle
import Systemd

/// Notices changes other processes make to the queue (the `outbox` CLI holding, releasing or
/// retrying a message) and wakes the dispatcher at once, so an admin action takes effect within
/// a fraction of a second instead of at the dispatcher's next poll.
///
/// Polls `PRAGMA data_version` on its own read connection every `interval` (one tiny read; the
/// daemon's own commits move it too, which costs an idle worker one empty claim).
struct QueueChangeWatcher: Service {
    /// The queue database (already opened and migrated by the daemon).
    let databasePath: String
    let doorbell: Doorbell
    let state: DaemonState
    let logger: Logger
    /// Checked every `interval`: the queue file still being the one outboxd has open.
    let fileGuard: QueueFileGuard
    let notifier: Notifier
    var interval: Duration = .milliseconds(250)

    /// The queue file was lost: thrown so the group shuts down (gracefully: sends in flight finish).
    struct QueueFileLost: Error, CustomStringConvertible {
        var description: String
    }

    func run() async throws {
        let probe: QueueChangeProbe
        do {
            probe = try QueueChangeProbe(path: databasePath)
        } catch {
            logger.warning("Cannot watch the queue for admin changes; they apply at the next poll", metadata: [LogKey.error: "\(error)"])
            try? await gracefulShutdown()
            return
        }
        var last: Int64?
        var reportedFailure = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if let problem = fileGuard.problem() {
                state.update {
                    $0.queueFileLost = problem
                    $0.changes &+= 1
                }
                logger.critical(
                    "The queue file is gone: intake and delivery stop now; unsent mail is written back to the spool and outboxd exits to start on a fresh file",
                    metadata: [LogKey.error: "\(problem)"])
                notifier.status("CRITICAL: \(problem); intake and delivery stopped, writing unsent mail back to the spool")
                try? probe.close()
                throw QueueFileLost(description: problem)
            }
            do {
                let version = try await probe.dataVersion()
                if let last, version != last {
                    state.noteChange()
                    doorbell.ring()
                }
                last = version
                reportedFailure = false
            } catch {
                if !reportedFailure {
                    logger.warning("Cannot watch the queue for admin changes; they apply at the next poll",
                                   metadata: [LogKey.error: "\(error)"])
                    reportedFailure = true
                }
            }
            try? await Task.sleep(for: interval)
        }
        try? probe.close()
    }
}
