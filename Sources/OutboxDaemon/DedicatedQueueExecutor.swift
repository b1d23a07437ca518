import Dispatch

/// Runs an actor's jobs on one dedicated serial queue, so its blocking system calls (directory
/// scans, file reads, inotify) never hold a thread of Swift's cooperative pool.
final class DedicatedQueueExecutor: SerialExecutor, @unchecked Sendable {  // DispatchQueue is thread-safe
    private let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }
}
