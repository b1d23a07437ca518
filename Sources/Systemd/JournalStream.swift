import Glibc

/// Whether standard error is connected to the journal, by systemd's convention: the service
/// manager sets `$JOURNAL_STREAM` to `DEVICE:INODE` of the stream it connected, and a program
/// compares that with `fstat(2)` of its own stderr (`systemd.exec(5)`, "$JOURNAL_STREAM"). A
/// redirected stderr (a shell, a pipe to a file) no longer matches, so plain lines are kept there.
public enum JournalStream {
    /// True when `$JOURNAL_STREAM` names the file descriptor 2 of this process.
    public static func standardErrorIsJournal() -> Bool {
        guard let raw = getenv("JOURNAL_STREAM") else { return false }
        let value = String(cString: raw)
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        return matches(value, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Parses `DEVICE:INODE` (both decimal) and compares.
    public static func matches(_ value: String, device: UInt64, inode: UInt64) -> Bool {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let d = UInt64(parts[0]), let i = UInt64(parts[1]) else { return false }
        return d == device && i == inode
    }
}
