import Glibc
import OutboxSystem

/// What `outboxd` leaves beside the queue when it stops cleanly (`<queue>.clean`): the file's
/// device, inode, size and modification time after its last connection closed, when no
/// write-ahead log was left. While the file still matches, nobody has written to it since, so the
/// next start can skip reading all of it (`PRAGMA quick_check`).
///
/// Any later write breaks the match: a commit goes into the `-wal` file first (which must be absent
/// or empty to match) and reaches the main file only through a checkpoint, which moves its
/// modification time; another tool writing the file (`dd`, a restore) moves it too, or brings
/// another inode. The daemon also removes the record before its first write. A match says nothing
/// about the disk's own errors, which quick_check would not catch reliably either.
public struct CleanStopRecord: Sendable, Hashable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedNanoseconds: Int64

    /// Where the record of the queue at `database` lives.
    public static func path(for database: String) -> String { database + ".clean" }

    /// The record the file at `database` would get now; nil when it cannot be read, or while its
    /// write-ahead log holds anything (a connection is open, or one did not close cleanly).
    static func current(database: String) -> CleanStopRecord? {
        var wal = stat()
        if stat(database + "-wal", &wal) == 0 {
            guard wal.st_size == 0 else { return nil }
        } else if errno != ENOENT {
            return nil
        }
        var file = stat()
        guard stat(database, &file) == 0 else { return nil }
        return CleanStopRecord(
            device: UInt64(file.st_dev), inode: UInt64(file.st_ino), size: Int64(file.st_size),
            modifiedNanoseconds: Int64(file.st_mtim.tv_sec) * 1_000_000_000 + Int64(file.st_mtim.tv_nsec))
    }

    /// One line: `outbox clean stop v1 dev=… ino=… size=… mtime_ns=…`.
    var text: String {
        "outbox clean stop v1 dev=\(device) ino=\(inode) size=\(size) mtime_ns=\(modifiedNanoseconds)\n"
    }

    init(device: UInt64, inode: UInt64, size: Int64, modifiedNanoseconds: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modifiedNanoseconds = modifiedNanoseconds
    }

    /// Parses ``text``; nil for anything else (an unknown version counts as no record).
    init?(text: String) {
        let words = text.split(whereSeparator: \.isWhitespace)
        guard words.count == 8, words[0...3] == ["outbox", "clean", "stop", "v1"] else { return nil }
        var values: [Substring: Int64] = [:]
        for word in words[4...] {
            let pair = word.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let value = Int64(pair[1]) else { return nil }
            values[pair[0]] = value
        }
        guard let device = values["dev"], let inode = values["ino"], let size = values["size"],
            let modified = values["mtime_ns"]
        else { return nil }
        self.init(device: UInt64(bitPattern: device), inode: UInt64(bitPattern: inode), size: size,
                  modifiedNanoseconds: modified)
    }

    /// The record stored beside `database`; nil when there is none or it is unreadable.
    static func stored(database: String) -> CleanStopRecord? {
        let fd = open(path(for: database), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let bytes = try? FileDescriptorIO.readAll(fd, upTo: 256, path: path(for: database)),
            !bytes.isEmpty, bytes.count < 256
        else { return nil }
        return CleanStopRecord(text: String(decoding: bytes, as: UTF8.self))
    }

    /// Writes the record beside `database` atomically and durably (``DurableFile``), with the
    /// queue's own permissions (mode 0660 less the umask).
    func store(database: String) throws(CleanStopRecordError) {
        let final = Self.path(for: database)
        do {
            try DurableFile.write(Array(text.utf8), to: final, through: final + ".tmp", permissions: .lessUmask(0o660))
        } catch {
            throw CleanStopRecordError(error)
        }
    }

    /// Removes the record beside `database` (none is fine) and makes the removal durable, so that
    /// after a power cut no record can outlive the writes that follow.
    static func remove(database: String) throws(CleanStopRecordError) {
        let path = path(for: database)
        if unlink(path) != 0 {
            guard errno == ENOENT else { throw CleanStopRecordError(SystemCallError("cannot remove \(path)")) }
            return
        }
        do {
            try DurableFile.syncDirectory(containing: path)
        } catch {
            throw CleanStopRecordError(error)
        }
    }
}

/// A clean-stop record could not be written or removed: `cannot remove …: Permission denied`.
public struct CleanStopRecordError: Error, Sendable, CustomStringConvertible {
    public var description: String

    init(_ error: SystemCallError) {
        description = error.description
    }
}
