import ArgumentParser
import Foundation
import OutboxCore
import OutboxStore
import OutboxSystem

/// `outbox list`: the queue, in the shape a Postfix `mailq` user recognises.
struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List queued messages.",
        discussion: """
            Examples:
              outbox list
              outbox list --state deferred
              outbox list --recipient alice@example.org --older-than 2h
              outbox list --json | jq .
            """)

    @OptionGroup var global: GlobalOptions

    @OptionGroup var filters: FilterOptions

    @Flag(name: .long, help: "One JSON object per message per line.")
    var json = false

    func run() async throws {
        let filter = try filters.filter()
        let store = try await global.openQueue()
        let now = UnixTime.current
        let entries: [QueueEntry]
        do {
            entries = try await store.list(filter: filter, now: now)
        } catch {
            throw queueFailure(error, path: store.path, action: "read")
        }
        if json {
            for entry in entries { print(Self.jsonLine(entry)) }
        } else {
            print(Self.table(entries, now: now), terminator: "")
        }
    }

    static func table(_ entries: [QueueEntry], now: UnixTime) -> String {
        guard !entries.isEmpty else { return "Mail queue is empty\n" }
        var rows: [[String]] = [["Queue ID", "State", "Size", "Arrived", "Attempts", "Next attempt", "Sender/Recipient"]]
        var details: [Int: [String]] = [:]
        for entry in entries {
            let next: String =
                switch entry.state {
                case .queued, .deferred: entry.inFlight ? "sending" : max(entry.nextAttemptAt, now).relative(to: now)
                default: "-"
                }
            rows.append([
                "\(entry.id)", entry.state.rawValue, "\(entry.size)", entry.createdAt.relative(to: now),
                "\(entry.attempts)", next, entry.sender,
            ])
            var lines: [String] = []
            if let error = entry.lastError, entry.state != .sent { lines.append("(\(error))") }
            if let origin = entry.origin { lines.append("(from \(origin))") }
            lines += entry.recipients.map { $0.state == "queued" ? $0.address : "\($0.address) [\($0.state)]" }
            details[rows.count - 1] = lines
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var out = ""
        for (index, row) in rows.enumerated() {
            out += row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ") + "\n"
            let indent = String(repeating: " ", count: widths.dropLast().reduce(0, +) + 2 * (widths.count - 1))
            for line in details[index] ?? [] { out += indent + line + "\n" }
        }
        return out + summaryLine(entries)
    }

    /// The last line of `list` and `mailq`, as sendmail's `mailq` ends: `-- 12 Kbytes in 3 Requests.`
    static func summaryLine(_ entries: [QueueEntry]) -> String {
        let kilobytes = (entries.reduce(0) { $0 + $1.size } + 1023) / 1024
        return "-- \(kilobytes) Kbytes in \(entries.count) Request\(entries.count == 1 ? "" : "s").\n"
    }

    static func jsonLine(_ entry: QueueEntry) -> String {
        let iso = ISO8601DateFormatter()
        func date(_ t: UnixTime) -> String { iso.string(from: Date(timeIntervalSince1970: t.seconds)) }
        let object: [String: Any] = [
            "queue_name": entry.state.rawValue,
            "queue_id": "\(entry.id)",
            "state": entry.state.rawValue,
            "arrival_time": Int(entry.createdAt.seconds),
            "arrival_time_iso": date(entry.createdAt),
            "message_size": entry.size,
            "sender": entry.sender,
            "source": entry.origin ?? NSNull(),
            "attempts": entry.attempts,
            "next_attempt_time": date(entry.nextAttemptAt),
            "last_error": entry.lastError ?? NSNull(),
            "in_flight": entry.inFlight,
            "recipients": entry.recipients.map { r -> [String: Any] in
                var item: [String: Any] = ["address": r.address, "state": r.state]
                if r.state != "sent", let reply = r.lastReply ?? entry.lastError { item["delay_reason"] = reply }
                return item
            },
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
