import ArgumentParser
import Foundation
import OutboxCore
import OutboxStore
import OutboxSystem

#if canImport(Glibc)
import Glibc
#endif

/// `outbox mailq` (and `mailq`, a link to outbox): the waiting mail in the exact layout of Postfix's
/// and sendmail's `mailq`, which monitoring scripts (check_mailq, munin's postfix_mailqueue) parse.
struct Mailq: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The waiting mail (queued, deferred, held) in the layout of Postfix's mailq.",
        discussion: """
            A `*` after the queue id marks a message being sent now, a `!` a held one; a deferred \
            message's last error follows in parentheses. Sent and failed messages are not shown \
            (see outbox list).

            Examples:
              mailq
              outbox mailq
            """)

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let store = try await global.openQueue()
        let now = UnixTime.current
        let entries: [QueueEntry]
        do {
            entries = try await store.list(filter: QueueFilter(states: [.queued, .deferred, .held]), now: now)
        } catch {
            throw queueFailure(error, path: store.path, action: "read")
        }
        print(Self.text(entries), terminator: "")
    }

    static func text(_ entries: [QueueEntry]) -> String {
        guard !entries.isEmpty else { return "Mail queue is empty\n" }
        var out = "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
        let indent = String(repeating: " ", count: 41)
        for entry in entries {
            let mark = entry.state == .held ? "!" : entry.inFlight ? "*" : ""
            let id = ("\(entry.id)" + mark).padding(toLength: 11, withPad: " ", startingAt: 0)
            let size = String(repeating: " ", count: max(0, 8 - "\(entry.size)".count)) + "\(entry.size)"
            out += "\(id) \(size) \(arrival(entry.createdAt))  \(entry.sender.isEmpty ? "MAILER-DAEMON" : entry.sender)\n"
            if let error = entry.lastError, entry.state == .deferred || entry.state == .held {
                out += "(\(error.prefix(200)))\n"
            }
            for recipient in entry.recipients where recipient.state == "queued" {
                out += indent + recipient.address + "\n"
            }
            out += "\n"
        }
        return out + List.summaryLine(entries)
    }

    /// `Tue Dec  1 07:00:00`, local time, as Postfix's showq writes it (20 characters).
    static func arrival(_ time: UnixTime) -> String {
        var seconds = time_t(time.milliseconds / 1000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a %b %e %H:%M:%S", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
