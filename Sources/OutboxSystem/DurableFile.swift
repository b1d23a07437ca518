#if canImport(Glibc)
public import Glibc  // mode_t in the API
#endif

/// A file that appears whole or not at all, and survives a power cut once ``commit(as:syncingDirectory:)``
/// returned: written under a temporary name, synced, renamed into place, and the directory synced
/// (nullmailer's `src/queue.cc` does the same). A reader, or a crash, sees the old file or the new
/// one, never part of one.
///
/// Dropped without a commit (an error on the way), the temporary file is closed and removed.
/// Blocking file IO: use it only where blocking is allowed (a dedicated thread or queue, the CLI).
public struct DurableFile: ~Copyable {
    /// The mode the file gets.
    public enum Permissions: Sendable {
        /// Exactly this mode, whatever the umask (set with `fchmod` before the rename).
        case exactly(mode_t)
        /// This mode less the process's umask (what `open` gives).
        case lessUmask(mode_t)
    }

    /// How the rename is made durable.
    public enum DirectorySync: Sendable {
        /// The directory is synced; a failure to sync it is thrown.
        case required
        /// The directory is synced when it can be opened (a producer may not read `new/`): the
        /// file itself is on disk either way.
        case ifPossible
        /// The caller syncs the directory once, after several files (``syncDirectory(_:)``).
        case byCaller
    }

    /// Where the content is written before the rename; must be on the same file system as the target.
    public let temporaryPath: String
    private let permissions: Permissions
    private var descriptor: Int32

    /// Creates `temporaryPath` (never following a symbolic link). `exclusive`: fail when it
    /// exists, else truncate it.
    public init(temporaryPath: String, permissions: Permissions, exclusive: Bool = false) throws(SystemCallError) {
        let mode: mode_t =
            switch permissions {
            case .exactly(let mode), .lessUmask(let mode): mode
            }
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (exclusive ? O_EXCL : O_TRUNC)
        let descriptor = try SystemCall.retryingOnEINTR("cannot create \(temporaryPath)") {
            open(temporaryPath, flags, mode)
        }
        self.temporaryPath = temporaryPath
        self.permissions = permissions
        self.descriptor = descriptor
    }

    /// Appends `bytes`.
    public func write(_ bytes: [UInt8]) throws(SystemCallError) {
        try FileDescriptorIO.write(descriptor, bytes, path: temporaryPath)
    }

    /// Sets the mode, syncs, closes and renames the file to `path`, then makes the rename durable
    /// as `syncingDirectory` says. On a failure before the rename the temporary file is removed.
    public consuming func commit(as path: String, syncingDirectory: DirectorySync = .required) throws(SystemCallError) {
        let descriptor = self.descriptor
        self.descriptor = -1  // cleaned up here from now on, not in deinit
        var failure: SystemCallError?
        if case .exactly(let mode) = permissions, fchmod(descriptor, mode) != 0 {
            failure = SystemCallError("cannot set the mode of \(temporaryPath)")
        }
        if failure == nil && fsync(descriptor) != 0 { failure = SystemCallError("cannot sync \(temporaryPath)") }
        close(descriptor)
        if failure == nil && rename(temporaryPath, path) != 0 {
            failure = SystemCallError("cannot rename \(temporaryPath) to \(path)")
        }
        if let failure {
            unlink(temporaryPath)
            throw failure
        }
        switch syncingDirectory {
        case .required: try Self.syncDirectory(containing: path)
        case .ifPossible: try? Self.syncDirectory(containing: path)
        case .byCaller: break
        }
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporaryPath)
        }
    }

    /// Writes `bytes` to `path` durably: through `temporaryPath`, then renamed (see ``DurableFile``).
    public static func write(
        _ bytes: [UInt8], to path: String, through temporaryPath: String, permissions: Permissions,
        exclusive: Bool = false, syncingDirectory: DirectorySync = .required
    ) throws(SystemCallError) {
        let file = try DurableFile(temporaryPath: temporaryPath, permissions: permissions, exclusive: exclusive)
        try file.write(bytes)
        try file.commit(as: path, syncingDirectory: syncingDirectory)
    }

    /// Syncs `directory`, making renames into it (and removals from it) durable.
    public static func syncDirectory(_ directory: String) throws(SystemCallError) {
        let descriptor = try SystemCall.retryingOnEINTR("cannot open \(directory)") {
            open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw SystemCallError("cannot sync \(directory)") }
    }

    /// Syncs the directory `path` is in (`.` for a bare name, `/` for a file in the root).
    public static func syncDirectory(containing path: String) throws(SystemCallError) {
        let directory = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        try syncDirectory(directory)
    }
}
