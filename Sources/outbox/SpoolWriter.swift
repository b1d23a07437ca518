import Foundation
import OutboxSystem

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

        do {
            // 0640 whatever the umask: the daemon reads through the group, nobody else may. Syncing
            // new/ needs read permission, which producers lack (mode 3730): then it is skipped, and
            // the file itself is already on disk.
            try DurableFile.write(
                content, to: directory + "/new/" + final, through: temporary, permissions: .exactly(0o640),
                exclusive: true, syncingDirectory: .ifPossible)
        } catch {
            throw Self.failure(error)
        }
        return final
    }

    private static func failure(_ error: SystemCallError) -> Failure {
        let text = "\(error)"
        if error.code == EACCES || error.code == EPERM {
            return .permission(text + " (producers must be in the spool's group, e.g. outbox)")
        }
        return .temporary(text)
    }
}
