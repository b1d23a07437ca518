import ArgumentParser
import OutboxConfig
import OutboxCore
import OutboxSystem

extension ExitStatus {
    /// Prints `outbox: <message>` on stderr and returns the error that exits with this status.
    func fail(_ message: String) -> ExitCode {
        StandardError.writeLine("outbox: \(message)")
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
