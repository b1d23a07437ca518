#if canImport(Glibc)
import Glibc
#endif

/// Lines for the person at the terminal (and for the journal when logging is not set up yet),
/// written straight to file descriptor 2: one `write(2)`, so lines of concurrent writers never mix.
public enum StandardError {
    /// Writes `line` and a newline; a failure to write to stderr has nowhere to be reported.
    public static func writeLine(_ line: String) {
        try? FileDescriptorIO.write(2, Array((line + "\n").utf8), path: "standard error")
    }
}
