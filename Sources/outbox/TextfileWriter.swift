import OutboxSystem

#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file atomically, the way node_exporter's textfile collector needs it: a reader sees
/// the old file or the new one, never half of one. The text goes to a hidden temporary file in the
/// same directory (the collector reads only `*.prom`), is made readable (0644) and synced, and is
/// renamed over the target (``DurableFile``).
enum TextfileWriter {
    static func replace(_ path: String, with text: String) throws(SystemCallError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(name).\(getpid()).tmp"
        try DurableFile.write(
            Array(text.utf8), to: path, through: temporary, permissions: .exactly(0o644), syncingDirectory: .ifPossible)
    }
}
