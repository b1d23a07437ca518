import Logging
import OutboxConfig
import OutboxCore
import OutboxStore
import ServiceLifecycle

/// Deletes finished mail once it is old enough (`queue.keep_sent`, `queue.keep_failed`) and gives
/// the freed pages back to the file system (incremental vacuum), at start and then every
/// ``interval``.
///
/// The writer is shared with intake and delivery, so every step is one short transaction: at most
/// ``batchSize`` messages, or ``pagesPerStep`` pages, each. GRDB runs them on its writer queue (not
/// the cooperative pool), in turn with the delivery ledger's and intake's commits, which therefore
/// wait for at most one step. Deleted content is overwritten (`secure_delete`, see QueueStore).
struct RetentionSweeper: Service {
    let queue: QueueSettings
    let store: QueueStore
    let logger: Logger
    let now: @Sendable () -> UnixTime
    var batchSize = 100
    var pagesPerStep = 256

    /// Every minute, or more often when a keep time is shorter (half of it, at least a second).
    var interval: Duration {
        min(.seconds(60), max(.seconds(1), min(queue.keepSent, queue.keepFailed) / 2))
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await sweep()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass: expired sent, then expired failed messages in batches, then free pages.
    func sweep() async {
        do {
            var purged: [QueueState: Int] = [:]
            for (state, keep) in [(QueueState.sent, queue.keepSent), (.failed, queue.keepFailed)] {
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let deleted = try await store.purgeExpired(state, olderThan: keep, now: now(), limit: batchSize)
                    purged[state, default: 0] += deleted
                    if deleted < batchSize { break }
                }
            }
            // Bounded: each step frees up to pagesPerStep pages, and the pass stops with shutdown.
            var free = try await store.reclaimFreePages(pagesPerStep)
            while free > 0 && !Task.isShuttingDownGracefully && !Task.isCancelled {
                free = try await store.reclaimFreePages(pagesPerStep)
            }
            if purged.values.reduce(0, +) > 0 {
                logger.info("Purged finished messages past their keep time", metadata: [
                    LogKey.sent: "\(purged[.sent] ?? 0)", LogKey.failed: "\(purged[.failed] ?? 0)",
                ])
            }
        } catch {
            logger.warning("Cannot purge finished messages now; trying again later", metadata: [LogKey.error: "\(error)"])
        }
    }
}
