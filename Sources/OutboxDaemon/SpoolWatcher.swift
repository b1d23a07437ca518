import Dispatch
import Glibc
import Logging
import OutboxCore
import Synchronization

/// Watches `<spool>/new` with inotify and says "look again" whenever a file may have arrived,
/// the kernel's event queue overflowed, or `rescanInterval` passed (events can be lost, e.g. when
/// the directory is replaced; a periodic rescan makes that harmless).
///
/// It also remembers, per name, how each file arrived (``Arrival``), so the intake takes only
/// complete files: one renamed into `new/` (the contract) at once, one a producer created in place
/// (`cp x new/`, `printf … > new/x`) only after the writer closed it and it settled.
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

    /// How a file came to be in `new/`, as far as inotify told.
    enum Arrival: Sendable, Equatable {
        /// Renamed (or hard-linked) in: complete.
        case renamed
        /// Created in place and not closed yet: a writer may still be adding to it.
        case writing
        /// Created in place and closed by its writer: complete once it stops changing.
        case closed
    }

    private struct Mark {
        var arrival: Arrival
        /// Changes with every event for the name, so a stale ``forget(_:)`` cannot drop a newer mark.
        var sequence: UInt64
    }

    private let fd: Int32
    private let directory: String
    private let logger: Logger?
    private static let mask = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF)
    private let stopped = Atomic<Bool>(false)
    /// Set when the watched directory was removed or moved away: recreate it and watch it again.
    private let lostWatch = Atomic<Bool>(false)
    /// The watched directory's inode, to notice `spool/` itself being moved or removed (which no
    /// event on `new/` reports).
    private let watchedInode = Atomic<UInt64>(0)
    private let marks = Mutex<(byName: [String: Mark], sequence: UInt64)>(([:], 0))

    init(directory: String, logger: Logger? = nil) throws {
        self.directory = directory
        self.logger = logger
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw WatchError.inotify(errno: errno, path: directory) }
        guard inotify_add_watch(fd, directory, Self.mask) >= 0 else {
            let code = errno
            close(fd)
            throw WatchError.inotify(errno: code, path: directory)
        }
        watchedInode.store(Self.inode(of: directory) ?? 0, ordering: .relaxed)
    }

    private static func inode(of path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    deinit { close(fd) }

    /// How each name with a known arrival came, with the mark's sequence for ``forget(_:)``.
    func arrivals() -> [String: (arrival: Arrival, sequence: UInt64)] {
        marks.withLock { $0.byName.mapValues { ($0.arrival, $0.sequence) } }
    }

    /// Drops the marks of names that are gone (taken, or removed by their producer), unless an
    /// event came for the name since `sequence` was read.
    func forget(_ names: [(name: String, sequence: UInt64)]) {
        guard !names.isEmpty else { return }
        marks.withLock { marks in
            for (name, sequence) in names where marks.byName[name]?.sequence == sequence {
                marks.byName[name] = nil
            }
        }
    }

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
                    while true {
                        let count = read(fd, &buffer, buffer.count)
                        guard count > 0 else { break }
                        note(buffer.prefix(count))
                    }
                    continuation.yield()
                } else if clock.now >= nextRescan {
                    continuation.yield()
                }
                if Self.inode(of: directory) != watchedInode.load(ordering: .relaxed) {
                    lostWatch.store(true, ordering: .relaxed)  // moved, removed, or replaced
                }
                if lostWatch.load(ordering: .relaxed), rewatch() {
                    continuation.yield()
                }
                if clock.now >= nextRescan { nextRescan = clock.now + rescanInterval }
            }
            continuation.finish()
        }
        continuation.onTermination = { [self] _ in stop() }
        return stream
    }

    /// Records what a read's events say about each name (`struct inotify_event`: wd, mask, cookie,
    /// len, then `len` bytes of NUL-padded name).
    private func note(_ events: ArraySlice<UInt8>) {
        var offset = events.startIndex
        let header = 16
        while offset + header <= events.endIndex {
            func word(_ at: Int) -> UInt32 {
                UInt32(events[offset + at]) | UInt32(events[offset + at + 1]) << 8
                    | UInt32(events[offset + at + 2]) << 16 | UInt32(events[offset + at + 3]) << 24
            }
            let mask = word(4)
            let length = Int(word(12))
            let nameBytes = events[(offset + header)..<min(offset + header + length, events.endIndex)].prefix { $0 != 0 }
            offset += header + length
            if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED) != 0 {
                // `new/` itself was removed or moved away (`rm -rf spool`, a restore).
                lostWatch.store(true, ordering: .relaxed)
                marks.withLock { $0.byName.removeAll() }
                continue
            }
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                // Events were lost: what is known may be stale; every file must settle again.
                marks.withLock { $0.byName.removeAll() }
                continue
            }
            guard !nameBytes.isEmpty, mask & UInt32(IN_ISDIR) == 0 else { continue }
            let name = String(decoding: nameBytes, as: UTF8.self)
            let arrival: Arrival
            if mask & UInt32(IN_MOVED_TO) != 0 {
                arrival = .renamed
            } else if mask & UInt32(IN_CLOSE_WRITE) != 0 {
                arrival = .closed
            } else if mask & UInt32(IN_CREATE) != 0 {
                // Created in place — or hard-linked in (Maildir style), which is complete: a new
                // regular file has one link, a linked one at least two.
                var info = stat()
                guard lstat(directory + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                arrival = info.st_nlink > 1 ? .renamed : .writing
            } else {
                continue
            }
            // Events come in order: a close after the create replaces `.writing`.
            marks.withLock { marks in
                marks.sequence &+= 1
                marks.byName[name] = Mark(arrival: arrival, sequence: marks.sequence)
            }
        }
    }

    /// Recreates the spool directories that are missing (modes as at startup) and watches `new/`
    /// again. - Returns: true once watched.
    private func rewatch() -> Bool {
        let spool = String(directory.dropLast("/new".count))
        var created: [String] = []
        for (path, mode) in [(spool, 0o750), (spool + "/tmp", 0o770), (directory, 0o770), (spool + "/failed", 0o770)] {
            if mkdir(path, mode_t(mode)) == 0 { created.append(path) }
        }
        guard inotify_add_watch(fd, directory, Self.mask) >= 0 else { return false }
        watchedInode.store(Self.inode(of: directory) ?? 0, ordering: .relaxed)
        lostWatch.store(false, ordering: .relaxed)
        logger?.warning("The spool directory was removed or moved; watching it again",
                        metadata: [LogKey.path: "\(directory)", LogKey.recreated: "\(created.joined(separator: " "))"])
        return true
    }

    func stop() { stopped.store(true, ordering: .relaxed) }
}
