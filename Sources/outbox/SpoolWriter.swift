import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Hands a finished spool file to the daemon with the spool protocol (docs/spool.md): write
/// `tmp/NAME` (mode 0640), fsync, rename to `new/NAME.ext`, fsync `new/`. Only complete files
/// ever appear in `new/`; the name (time, pid, random) is unique without listing the directory,
/// which producers cannot do.
struct SpoolWriter {
    let directory: String

    enum Failure: Error {
        /// EX_NOPERM: the caller is not in the producer group.
        case permission(String)
        /// EX_TEMPFAIL: disk full, spool missing, I/O error: retry later.
        case temporary(String)
    }

    /// Writes `content` and returns the spool id (the file name in `new/`).
    func write(_ content: [UInt8], extension fileExtension: String) throws(Failure) -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let base = "\(now.tv_sec).\(String(format: "%06d", now.tv_nsec / 1000)).\(getpid()).\(random)"
        let temporary = directory + "/tmp/" + base
        let final = base + "." + fileExtension

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else { throw Self.failure("cannot create a file in \(directory)/tmp") }
        var written = 0
        while written < content.count {
            let n = content.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let failure = Self.failure("cannot write \(temporary)")
                close(fd)
                unlink(temporary)
                throw failure
            }
            written += n
        }
        // 0640 whatever the umask: the daemon reads through the group, nobody else may.
        guard fchmod(fd, 0o640) == 0, fsync(fd) == 0 else {
            let failure = Self.failure("cannot write \(temporary)")
            close(fd)
            unlink(temporary)
            throw failure
        }
        close(fd)
        guard rename(temporary, directory + "/new/" + final) == 0 else {
            let failure = Self.failure("cannot move \(temporary) into \(directory)/new")
            unlink(temporary)
            throw failure
        }
        // Make the rename durable. Opening new/ needs read permission, which producers lack
        // (mode 3730): then this is skipped, and the file itself is already on disk.
        let directoryFD = open(directory + "/new", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
        return final
    }

    private static func failure(_ what: String) -> Failure {
        let code = errno
        let text = "\(what): \(String(cString: strerror(code)))"
        if code == EACCES || code == EPERM {
            return .permission(text + " (producers must be in the spool's group, e.g. outbox)")
        }
        return .temporary(text)
    }
}
