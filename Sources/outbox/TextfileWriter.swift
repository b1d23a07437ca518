#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file atomically, the way node_exporter's textfile collector needs it: a reader sees
/// the old file or the new one, never half of one. The text goes to a hidden temporary file in the
/// same directory (the collector reads only `*.prom`), is synced, made readable (0644), and renamed
/// over the target.
enum TextfileWriter {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func replace(_ path: String, with text: String) throws(Failure) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(name).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "\(temporary): \(String(cString: strerror(errno)))") }
        var ok = true
        var reason = ""
        let bytes = Array(text.utf8)
        var offset = 0
        while ok && offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                ok = false
                reason = String(cString: strerror(errno))
            } else {
                offset += written
            }
        }
        if ok && (fchmod(fd, 0o644) != 0 || fsync(fd) != 0) {
            ok = false
            reason = String(cString: strerror(errno))
        }
        close(fd)
        if ok && rename(temporary, path) != 0 {
            ok = false
            reason = String(cString: strerror(errno))
        }
        if !ok {
            unlink(temporary)
            throw Failure(description: reason)
        }
    }
}
