import ArgumentParser
import Foundation
import OutboxConfig
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
            try await QueueStore.verifyIntegrity(path: path)
        } catch {
            throw ExitStatus.dataError.fail("\(error); the file was not modified (restore it from a backup or move it aside)")
        }
        do {
            return try QueueStore(path: path, readOnly: !forWriting)
        } catch {
            throw ExitStatus.noInput.fail("cannot open the queue \(path): \(error)")
        }
    }
}
