import Dispatch
import Glibc
import Logging
import OutboxCore
import OutboxStore
import OutboxSystem

/// When the queue file is lost while outboxd runs (see ``QueueFileGuard``), writes every message
/// that still has recipients to deliver to back into the spool, from the file outboxd still has
/// open, before it exits for a restart on a fresh file:
/// - queued and deferred mail goes to `new/` (taken into the fresh queue at the restart), as `.eml`
///   with `X-Outbox-Envelope-From`/`-To` holding its envelope — only the recipients not yet
///   delivered to, so nobody gets it twice;
/// - held mail goes to `failed/` with a `.error` line, so an admin's hold is not undone: moving the
///   file into `new/` sends it.
///
/// Chosen over "refuse to exit until an admin acts" because mail keeps flowing without anyone
/// at the console, and nothing is lost either way: the spool is outbox's own durable format.
/// Blocking file IO runs on a queue of its own.
enum QueueFileRescue {
    struct Summary: Sendable {
        var requeued = 0
        var held = 0
        var failures: [String] = []
    }

    static func writeBack(store: QueueStore, spool: String, logger: Logger) async -> Summary {
        var summary = Summary()
        var after: QueueID?
        while true {
            let batch: [UnsentMessage]
            do {
                batch = try await store.unsentMessages(after: after, limit: 200)
            } catch {
                summary.failures.append("cannot read the old queue file: \(error)")
                return summary
            }
            guard let last = batch.last else { break }
            after = last.id
            let written = await withCheckedContinuation { (continuation: CheckedContinuation<Summary, Never>) in
                DispatchQueue(label: "outbox.rescue").async {
                    continuation.resume(returning: writeFiles(batch, spool: spool))
                }
            }
            summary.requeued += written.requeued
            summary.held += written.held
            summary.failures += written.failures
        }
        for directory in ["/new", "/failed"] { try? DurableFile.syncDirectory(spool + directory) }
        return summary
    }

    /// The spool file for `message`: its envelope in the two spool header fields, then the message.
    static func spoolFile(for message: UnsentMessage) -> [UInt8] {
        var header = "\(IncomingMessage.envelopeSenderField): \(message.sender)\r\n"
        header += "\(IncomingMessage.envelopeRecipientsField): " + message.recipients.joined(separator: ",\r\n ") + "\r\n"
        return Array(header.utf8) + message.content
    }

    private static func writeFiles(_ batch: [UnsentMessage], spool: String) -> Summary {
        var summary = Summary()
        for message in batch {
            let name = "recovered-\(message.id)-\(getpid()).eml"
            let temporary = spool + "/tmp/" + name
            let held = message.state == .held
            let target = spool + (held ? "/failed/" : "/new/") + name
            do {
                // A held message's reason appears first, so failed/ never shows it without one.
                let file = try DurableFile(temporaryPath: temporary, permissions: .lessUmask(0o640))
                try file.write(spoolFile(for: message))
                if held {
                    let line = "held in the queue file that was lost; move this file into new/ to send it (queue id \(message.id))\n"
                    let reason = try DurableFile(temporaryPath: temporary + ".error", permissions: .lessUmask(0o640))
                    try reason.write(Array(line.utf8))
                    try reason.commit(as: target + ".error", syncingDirectory: .byCaller)
                }
                try file.commit(as: target, syncingDirectory: .byCaller)
                if held { summary.held += 1 } else { summary.requeued += 1 }
            } catch {
                summary.failures.append("\(message.id): \(error)")
            }
        }
        return summary
    }
}
