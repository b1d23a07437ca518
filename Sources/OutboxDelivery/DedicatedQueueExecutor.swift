import Dispatch

/// Runs jobs on one dedicated serial queue, so blocking C calls (`curl_easy_perform` in an SMTP
/// lane, a delivery worker's synchronous commit; directory scans and file reads in the daemon's
/// spool intake) never hold a thread of Swift's cooperative pool. Shared within the package.
///
/// It is both an actor's executor and a task executor: a task that prefers it runs its
/// nonisolated code there too, so calling an actor on the same executor costs no thread switch.
package final class DedicatedQueueExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {  // DispatchQueue is thread-safe
    private let queue: DispatchQueue

    package init(label: String) { queue = DispatchQueue(label: label) }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async {
            job.runSynchronously(isolatedTo: self.asUnownedSerialExecutor(), taskExecutor: self.asUnownedTaskExecutor())
        }
    }
}
