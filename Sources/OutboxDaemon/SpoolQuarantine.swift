import Glibc
import OutboxCore
import OutboxSystem

/// Puts a rejected spool entry into `failed/` for an admin to read: `failed/NAME` (a copy) and
/// `failed/NAME.error` (one line), then removes `new/NAME`.
///
/// The content is *copied* into a new file the daemon owns (mode 0640, group of `failed/`): a
/// renamed producer file would keep the producer's owner and group `outbox`, which admins in
/// `outbox-admin` cannot read. At most ``excerptLength`` bytes are copied of a file over
/// `spool.max_message_size` (a sparse 2 GB file must not become 2 GB of disk), and never more than
/// that limit of any file. Nothing is followed or opened that could block: a symbolic link is
/// recorded (its target in the reason) and recreated in `failed/` (never followed), a FIFO or
/// device is removed, an empty directory is removed. A directory with something in it stays where
/// it is: moved into `failed/` it would still belong to, and be writable by, the producer.
/// Names are bytes (``SpoolName``); the copy's name is ``SpoolName/failedName``.
/// Blocking file IO: call it only from a dedicated executor.
struct SpoolQuarantine {
    let newDirectory: String
    let failedDirectory: String
    /// `spool.max_message_size`: a larger file is refused, and only its first ``excerptLength`` bytes are kept.
    let maximumMessageSize: Int

    /// How much of an oversized file `failed/` keeps, for an admin to see what it was.
    static let excerptLength = 65_536

    /// What ``quarantine(_:reason:)`` did.
    struct Quarantined: Equatable {
        /// The one-line reason as written to `failed/NAME.error`.
        var line: String
        /// Set when the copy and reason are in `failed/` but `new/NAME` could not be removed
        /// (`errno` of `unlink`): the caller must not take the file again.
        var notRemoved: Int32?
    }

    /// Quarantines `new/NAME`; returns the one-line reason as written (and whether `new/NAME` is
    /// gone), or throws a description of why it could not be moved (then `new/NAME` is left in place).
    func quarantine(_ name: SpoolName, reason: String) throws(QuarantineError) -> Quarantined {
        let source = name.path(in: newDirectory)
        let targetName = name.failedName
        let target = failedDirectory + "/" + targetName
        var line = reason
        var notRemoved: Int32?
        /// Removes `new/NAME` once its record is in failed/; a failure is the caller's to keep track of.
        func removeSource() {
            if unlink(source) != 0 && errno != ENOENT { notRemoved = errno }
        }
        var info = stat()
        if lstat(source, &info) != 0 {
            guard errno == ENOENT else { throw QuarantineError("cannot stat it: \(Self.describeErrno())") }
            try writeError(targetName, line: line)
            return Quarantined(line: line)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            let kept = try copyRegularFile(from: source, to: target)
            if kept < Int(info.st_size) {
                line += " (failed/ keeps its first \(kept) bytes)"
            }
            try writeError(targetName, line: line)
            removeSource()
        case S_IFLNK:
            // Kept as a link of our own with the same target (never followed), for the admin to see.
            var buffer = [CChar](repeating: 0, count: 4097)
            let length = readlink(source, &buffer, 4096)
            if length >= 0 {
                buffer[length] = 0
                line +=
                    " (it points to \(String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self).printableExcerpt))"
                unlink(target)
                _ = symlink(buffer, target)
            }
            try writeError(targetName, line: line)
            removeSource()
        case S_IFDIR:
            guard rmdir(source) == 0 else {
                let problem = Self.describeErrno()
                line += " (it is not empty, so it stays in new/: remove it)"
                try? writeError(targetName, line: line)
                throw QuarantineError("cannot remove the directory: \(problem); it stays in new/ and is skipped")
            }
            line += " (the empty directory was removed)"
            try writeError(targetName, line: line)
        default:  // FIFO, socket, device: nothing to copy, and opening could block or have effects.
            try writeError(targetName, line: line)
            removeSource()
        }
        try? DurableFile.syncDirectory(failedDirectory)
        return Quarantined(line: line, notRemoved: notRemoved)
    }

    /// Copies at most the message size limit (or ``excerptLength`` of a file over it) and returns
    /// how many bytes were copied.
    private func copyRegularFile(from source: [CChar], to target: String) throws(QuarantineError) -> Int {
        let input = open(source, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard input >= 0 else { throw QuarantineError("cannot open it: \(Self.describeErrno())") }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            // Swapped for something else since lstat; the next scan sees what it is now.
            throw QuarantineError("it is no longer a regular file")
        }
        let limit = Int(info.st_size) > maximumMessageSize ? Self.excerptLength : maximumMessageSize
        let temporary = failedDirectory + "/.quarantine.\(getpid()).tmp"
        unlink(temporary)
        // The umask must not widen or narrow what admins get. failed/ is synced once, by quarantine(_:reason:).
        do {
            let output = try DurableFile(temporaryPath: temporary, permissions: .exactly(0o640), exclusive: true)
            var buffer = [UInt8](repeating: 0, count: 65_536)
            var copied = 0
            while copied < limit {
                let count: Int
                do {
                    count = try FileDescriptorIO.read(input, into: &buffer, count: limit - copied, path: "it")
                } catch {
                    throw QuarantineError("cannot read it: \(error.reason)")
                }
                if count == 0 { break }
                try output.write(Array(buffer[..<count]))
                copied += count
            }
            try output.commit(as: target, syncingDirectory: .byCaller)
            return copied
        } catch let error as QuarantineError {
            throw error
        } catch {
            throw QuarantineError("\(error)")
        }
    }

    private func writeError(_ name: String, line: String) throws(QuarantineError) {
        let errorPath = failedDirectory + "/" + name + ".error"
        let temporary = failedDirectory + "/.quarantine.\(getpid()).error.tmp"
        do {
            try DurableFile.write(
                Array((line + "\n").utf8), to: errorPath, through: temporary, permissions: .exactly(0o640),
                syncingDirectory: .byCaller)
        } catch {
            throw QuarantineError("cannot write \(errorPath): \(error.reason)")
        }
    }

    static func describeErrno() -> String { String(cString: strerror(errno)) }
}

struct QuarantineError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
