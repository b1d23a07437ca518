#if canImport(Glibc)
import Glibc
#endif

/// A system call that failed: what was being done, and `errno`.
///
/// Prints `cannot write /var/spool/outbox/tmp/x: No space left on device`; callers that sort
/// failures (permission or temporary, say) look at ``code``.
public struct SystemCallError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was being done, e.g. `cannot write /path`.
    public var action: String
    /// The `errno` of the failure.
    public var code: Int32

    /// Takes `errno` as it is now: build the error right after the failed call.
    public init(_ action: String) {
        self.init(action, code: errno)
    }

    public init(_ action: String, code: Int32) {
        self.action = action
        self.code = code
    }

    /// `strerror(code)`: `No space left on device`.
    public var reason: String { String(cString: strerror(code)) }

    public var description: String { "\(action): \(reason)" }
}

/// The one wrapper for system calls that can be interrupted by a signal (swift-nio's
/// `syscall(blocking:)` does the same): `EINTR` means "call again", any other failure is thrown.
public enum SystemCall {
    /// Calls `call` until it does not fail with `EINTR`; returns its result (never negative), or
    /// throws ``SystemCallError`` with `action` and `errno`.
    @discardableResult
    public static func retryingOnEINTR<Result: BinaryInteger>(
        _ action: @autoclosure () -> String, _ call: () -> Result
    ) throws(SystemCallError) -> Result {
        while true {
            let result = call()
            if result >= 0 { return result }
            let code = errno
            guard code == EINTR else { throw SystemCallError(action(), code: code) }
        }
    }
}

/// Whole reads and writes on a file descriptor: short counts continue, `EINTR` is retried
/// (``SystemCall/retryingOnEINTR(_:_:)``), anything else is thrown.
public enum FileDescriptorIO {
    /// Writes all of `bytes`. `path` names the file in the error.
    public static func write(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            offset += try SystemCall.retryingOnEINTR("cannot write \(path)") {
                bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
        }
    }

    /// One `read(2)` of at most `count` bytes into the start of `buffer`: how many came (0 at the
    /// end of the file).
    public static func read(_ fd: Int32, into buffer: inout [UInt8], count: Int, path: String) throws(SystemCallError) -> Int {
        let wanted = min(count, buffer.count)
        guard wanted > 0 else { return 0 }
        return try SystemCall.retryingOnEINTR("cannot read \(path)") {
            buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
        }
    }

    /// Reads until the end of the file, or until `limit` bytes came (then there may be more: a
    /// caller that refuses larger input asks for one byte over its limit).
    public static func readAll(_ fd: Int32, upTo limit: Int, path: String) throws(SystemCallError) -> [UInt8] {
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(max(limit, 1), 65_536))
        while content.count < limit {
            let count = try read(fd, into: &chunk, count: limit - content.count, path: path)
            if count == 0 { break }
            content += chunk[..<count]
        }
        return content
    }
}
