import Dispatch

/// Runs an actor's jobs on one dedicated serial queue, so its blocking C calls (`curl_easy_perform`
/// in an SMTP lane; directory scans and file reads in the daemon's spool intake) never hold a
/// thread of Swift's cooperative pool. Shared within the package.
package final class DedicatedQueueExecutor: SerialExecutor, @unchecked Sendable {  // DispatchQueue is thread-safe
    private let queue: DispatchQueue

    package init(label: String) { queue = DispatchQueue(label: label) }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }
}
