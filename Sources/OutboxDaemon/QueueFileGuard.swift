import Glibc

/// Tells whether the queue's path still names the database file outboxd has open.
///
/// A mistaken `rm -rf /var/lib/outbox/` (or a file moved aside or replaced) leaves the daemon
/// writing into a file nobody will ever open again: every message it then takes from the spool
/// would be lost at the next start. The guard holds its own descriptor on the file opened at
/// startup and compares it with the path: link count (0: deleted), device and inode (another
/// file, or none, at the path now).
final class QueueFileGuard: Sendable {
    let path: String
    private let fd: Int32
    private let device: UInt64
    private let inode: UInt64

    /// Opens `path` (the queue outboxd has just opened) read-only and remembers which file it is.
    init(path: String) throws(QueueFileGuardError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw QueueFileGuardError("cannot open \(path) to watch it: \(String(cString: strerror(errno)))") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw QueueFileGuardError("cannot stat \(path): \(String(cString: strerror(code)))")
        }
        self.fd = fd
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    deinit { close(fd) }

    /// Nil while the path names the open file; otherwise what happened to it, in words.
    func problem() -> String? {
        var open = stat()
        if fstat(fd, &open) == 0, open.st_nlink == 0 {
            return "the queue file \(path) was deleted while outboxd had it open"
        }
        var current = stat()
        guard stat(path, &current) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                return "the queue file \(path) no longer exists (moved or its directory removed)"
            }
            return nil  // EACCES, EIO…: cannot tell; not a reason to stop
        }
        if UInt64(current.st_dev) != device || UInt64(current.st_ino) != inode {
            return "\(path) is no longer the queue file outboxd has open (replaced by another file)"
        }
        return nil
    }
}

struct QueueFileGuardError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
