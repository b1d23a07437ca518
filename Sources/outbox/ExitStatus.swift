import ArgumentParser
import OutboxConfig

#if canImport(Glibc)
import Glibc
#endif

/// The CLI's exit statuses, from sysexits.h, so scripts can tell "retry later" from "fix your input".
enum ExitStatus: Int32 {
    case usage = 64        // EX_USAGE
    case dataError = 65    // EX_DATAERR: malformed input, unknown id
    case noInput = 66      // EX_NOINPUT: no queue database
    case unavailable = 69  // EX_UNAVAILABLE: the server refused the mail for good
    case software = 70     // EX_SOFTWARE: a bug
    case tempFail = 75     // EX_TEMPFAIL: busy, try again
    case noPermission = 77 // EX_NOPERM
    case cantCreate = 73   // EX_CANTCREAT: an output file cannot be written
    case config = 78       // EX_CONFIG

    /// Prints `outbox: <message>` on stderr and returns the error that exits with this status.
    func fail(_ message: String) -> ExitCode {
        let bytes = Array("outbox: \(message)\n".utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        return ExitCode(rawValue)
    }
}

/// The configuration as the daemon reads it, or `outbox: <file>: <key>: <problem>` and EX_CONFIG (78).
func loadConfiguration(_ path: String) async throws -> OutboxConfiguration {
    do {
        return try await OutboxConfiguration.load(file: path)
    } catch {
        throw ExitStatus.config.fail("\(error)")
    }
}
