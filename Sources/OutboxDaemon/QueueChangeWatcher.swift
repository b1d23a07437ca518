import Logging
import OutboxStore
import ServiceLifecycle

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
    var interval: Duration = .milliseconds(250)

    func run() async throws {
        let probe: QueueChangeProbe
        do {
            probe = try QueueChangeProbe(path: databasePath)
        } catch {
            logger.warning("Cannot watch the queue for admin changes; they apply at the next poll", metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        var last: Int64?
        var reportedFailure = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
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
                                   metadata: ["error": "\(error)"])
                    reportedFailure = true
                }
            }
            try? await Task.sleep(for: interval)
        }
        try? probe.close()
    }
}
