import Dispatch
import Glibc
import Synchronization

/// Watches `<spool>/new` with inotify and says "look again" whenever a file may have arrived,
/// the kernel's event queue overflowed, or `rescanInterval` passed (events can be lost, e.g. when
/// the directory is replaced; a periodic rescan makes that harmless).
///
/// The watch is established in `init`, so a file renamed into `new/` after `init` returns is seen.
/// Reading happens on a dedicated thread with `poll(2)`, never on the cooperative pool.
final class SpoolWatcher: Sendable {
    enum WatchError: Error, CustomStringConvertible {
        case inotify(errno: Int32, path: String)
        var description: String {
            switch self {
            case .inotify(let code, let path): "cannot watch \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    private let fd: Int32
    private let stopped = Atomic<Bool>(false)

    init(directory: String) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw WatchError.inotify(errno: errno, path: directory) }
        let mask = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF)
        guard inotify_add_watch(fd, directory, mask) >= 0 else {
            let code = errno
            close(fd)
            throw WatchError.inotify(errno: code, path: directory)
        }
    }

    deinit { close(fd) }

    /// A signal per batch of events or per rescan tick; ends when `stop()` is called.
    func events(rescanInterval: Duration) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let thread = DispatchQueue(label: "outbox.spool.inotify")
        thread.async { [self] in
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            let clock = ContinuousClock()
            var nextRescan = clock.now + rescanInterval
            while !stopped.load(ordering: .relaxed) {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, 250)
                if ready > 0 {
                    // Drain; the content does not matter, only that something happened.
                    while read(fd, &buffer, buffer.count) > 0 {}
                    continuation.yield()
                } else if clock.now >= nextRescan {
                    continuation.yield()
                }
                if clock.now >= nextRescan { nextRescan = clock.now + rescanInterval }
            }
            continuation.finish()
        }
        continuation.onTermination = { [self] _ in stop() }
        return stream
    }

    func stop() { stopped.store(true, ordering: .relaxed) }
}
