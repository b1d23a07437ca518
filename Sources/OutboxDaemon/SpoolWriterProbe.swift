import Glibc

/// Asks the kernel whether any process has a file open for writing, by trying to take a read
/// lease on it and giving the lease back at once.
///
/// fcntl(2): "A read lease can be placed only on a file descriptor that is opened read-only", and
/// F_SETLEASE with F_RDLCK fails with EAGAIN when "the file is open for writing" — by anyone: the
/// kernel checks the inode's count of writers, so it answers for every process, including one that
/// inherited a writer's descriptor or keeps a writable mapping. It is the one answer that needs no
/// guessing from sizes and times, and costs about twice an open + close (11–75 µs a file against
/// 6–80 µs on a loaded machine; bench/RESULTS.md). It is asked only of files that may have been
/// created in place in `new/` (or were found there at startup): a file renamed in is complete by the
/// producers' contract.
///
/// The kernel grants a lease only to the file's owner or a process with CAP_LEASE in the initial
/// user namespace. A daemon that runs as its own user (the shipped unit: User=outbox, and
/// PrivateUsers=yes, where CAP_LEASE would be useless) gets EACCES for producers' files: then the
/// answer is ``Answer/unknown(errno:)`` and the intake falls back to close events and the settle time.
///
/// A lease is held for a few microseconds; a process opening the file for writing meanwhile waits
/// that long (the kernel breaks the lease and tells us with SIGIO, which outboxd ignores: SIGIO's
/// default action would end the process). Blocking file IO: call it only from a dedicated executor.
enum SpoolWriterProbe {
    enum Answer: Equatable {
        /// Nobody has it open for writing now.
        case noWriter
        /// Some process has it open for writing (or has a writable mapping of it).
        case writerOpen
        /// The kernel gave no answer (not our file and no CAP_LEASE: EACCES; leases disabled or not
        /// supported by the file system: EINVAL; the file vanished, or is not a regular file).
        case unknown(errno: Int32)
    }

    /// F_SETLEASE (F_LINUX_SPECIFIC_BASE + 0), from <fcntl.h> under _GNU_SOURCE.
    private static let setLease: Int32 = 1024

    /// Ignores SIGIO once per process (a lease break would otherwise end it).
    private static let sigioIgnored: Void = { _ = signal(SIGIO, SIG_IGN) }()

    /// Whether `path` (NUL-terminated, never followed if a symbolic link) is open for writing.
    static func probe(_ path: [CChar]) -> Answer {
        _ = sigioIgnored
        // O_NONBLOCK: never wait for another process's lease (nor on a FIFO swapped in meanwhile).
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .unknown(errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .unknown(errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .unknown(errno: EINVAL) }
        if fcntl(fd, setLease, Int32(F_RDLCK)) == 0 {
            _ = fcntl(fd, setLease, Int32(F_UNLCK))  // closing would release it too; at once is kinder
            return .noWriter
        }
        let code = errno
        return code == EAGAIN ? .writerOpen : .unknown(errno: code)
    }
}
