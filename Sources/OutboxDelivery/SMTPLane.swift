import Curl
import Dispatch

/// Runs jobs on one dedicated serial queue, so a blocking `curl_easy_perform` never holds a
/// thread of Swift's cooperative pool.
final class DedicatedQueueExecutor: SerialExecutor, @unchecked Sendable {  // DispatchQueue is thread-safe
    private let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }
}

/// One delivery lane: one serial queue, one reused easy handle (so one reused SMTP connection).
actor SMTPLane {
    private let executor: DedicatedQueueExecutor
    private var handle: EasyHandle?  // not Sendable; never leaves this actor

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init(label: String) {
        executor = DedicatedQueueExecutor(label: label)
    }

    /// Sends through the lane's handle, creating it on first use. Cancelling the calling task
    /// aborts the transfer at libcurl's next progress check.
    func send(_ request: SMTPTransferRequest) async -> SMTPTransferResult {
        let flag = StopFlag()
        return await withTaskCancellationHandler {
            perform(request, stopFlag: flag)
        } onCancel: {
            flag.set()
        }
    }

    private func perform(_ request: SMTPTransferRequest, stopFlag flag: StopFlag) -> SMTPTransferResult {
        let handle: EasyHandle
        if let existing = self.handle {
            handle = existing
        } else {
            do {
                handle = try EasyHandle()
            } catch {
                return SMTPTransferResult(error: error, transcript: SMTPTranscript())
            }
            self.handle = handle
        }
        return handle.sendMail(request, stop: flag)
    }

    /// Drops the handle and its connection (after a reload, or a 421).
    func reset() {
        handle = nil
    }
}
