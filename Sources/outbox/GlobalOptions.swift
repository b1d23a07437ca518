import ArgumentParser
import Foundation
import OutboxConfig
import OutboxCore
import OutboxStore

/// Options every verb takes: where the configuration (and so the queue) is.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "path"))
    var config: String = OutboxConfiguration.defaultPath

    @Option(name: .long, help: ArgumentHelp("The queue database (instead of the one in the configuration).", valueName: "path"))
    var database: String?

    /// Opens the queue (read-only unless `forWriting`, for the acting verbs), with one clear line
    /// and a sysexits status when it can't.
    func openQueue(forWriting: Bool = false) async throws -> QueueStore {
        let path: String
        if let database {
            path = database
        } else {
            path = try await loadConfiguration(config).queue.database
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw ExitStatus.noInput.fail("no queue database at \(path) (has outboxd run yet?)")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ExitStatus.noPermission.fail("cannot read \(path): permission denied (admins must be in the outbox-admin group)")
        }
        if forWriting && !FileManager.default.isWritableFile(atPath: path) {
            throw ExitStatus.noPermission.fail("cannot change \(path): permission denied (run as root or the outbox user)")
        }
        do {
            // The whole file only when it changed after outboxd's last clean stop: quick_check reads
            // every page (seconds for a million messages), and a running daemon checked it at start.
            // Damage found later by any read still exits 65 (queueFailure).
            try await QueueStore.verifyIntegrity(path: path, withoutRecord: .header)
        } catch {
            throw queueFailure(error, path: path, action: "open")
        }
        do {
            return try QueueStore(path: path, readOnly: !forWriting)
        } catch {
            if QueueStore.damage(in: error, path: path) != nil { throw queueFailure(error, path: path, action: "open") }
            throw ExitStatus.noInput.fail("cannot open the queue \(path): \(error)")
        }
    }
}

/// Prints the line for an error from the queue at `path` and returns its exit: a damaged file
/// (SQLite's "malformed" or "not a database", from the start check or any later read) is 65 with
/// the same line wherever it was found; anything else is `cannot <action> the queue: …`, 75.
func queueFailure(_ error: any Error, path: String, action: String) -> ExitCode {
    if let damage = QueueStore.damage(in: error, path: path) {
        return ExitStatus.dataError.fail("\(damage); the file was not modified (restore it from a backup or move it aside)")
    }
    return ExitStatus.tempFail.fail("cannot \(action) the queue: \(error)")
}
