import Dispatch
import Glibc
import Synchronization

/// Removes spool files whose messages are committed, on queues of its own, several at a time.
///
/// Removing a file the producer synced can wait for the disk: on a filesystem mounted with `discard`
/// (ext4 here) each unlink issues the discard of the file's blocks and waits for it, ~70 µs per 2 KB
/// file on an idle machine and several times that under load — one by one, most of the intake's time.
/// Unlinks on several serial queues overlap those waits, and they run while the intake reads, parses
/// and commits the next batch. Hand it only files whose messages are committed.
final class SpoolRemover: Sendable {
    private let lanes: [DispatchQueue]

    init(lanes: Int = 4) {
        self.lanes = (0..<max(lanes, 1)).map { DispatchQueue(label: "outbox.spool.remove.\($0)") }
    }

    /// A file that could not be removed, and why (`errno` of `unlink`).
    struct Failure: Sendable, Equatable {
        var path: String
        var errno: Int32

        var reason: String { String(cString: strerror(errno)) }
    }

    /// Unlinks every path (a file already gone is fine); returns, when all are done, those that
    /// could not be removed (new/ read-only to the daemon, an immutable file), in no order.
    @discardableResult
    func remove(_ paths: [String]) async -> [Failure] {
        guard !paths.isEmpty else { return [] }
        let lanes = Array(lanes.prefix(paths.count))
        let failures = Failures()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let group = DispatchGroup()
            for (lane, queue) in lanes.enumerated() {
                queue.async(group: group) {
                    for index in stride(from: lane, to: paths.count, by: lanes.count) {
                        if unlink(paths[index]) != 0 && errno != ENOENT {
                            let failure = Failure(path: paths[index], errno: errno)
                            failures.list.withLock { $0.append(failure) }
                        }
                    }
                }
            }
            group.notify(queue: lanes[0]) { continuation.resume() }
        }
        return failures.list.withLock { $0 }
    }

    /// What the lanes report, shared by their closures.
    private final class Failures: Sendable {
        let list = Mutex<[Failure]>([])
    }
}
