import Dispatch
import Glibc

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

    /// Unlinks every path (a file already gone is fine); returns when all are done.
    func remove(_ paths: [String]) async {
        guard !paths.isEmpty else { return }
        let lanes = Array(lanes.prefix(paths.count))
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let group = DispatchGroup()
            for (lane, queue) in lanes.enumerated() {
                queue.async(group: group) {
                    for index in stride(from: lane, to: paths.count, by: lanes.count) {
                        unlink(paths[index])
                    }
                }
            }
            group.notify(queue: lanes[0]) { continuation.resume() }
        }
    }
}
