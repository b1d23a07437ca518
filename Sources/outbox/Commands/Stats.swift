import ArgumentParser
import Foundation
import OutboxConfig
import OutboxCore
import OutboxMetrics
import OutboxStore
import OutboxSystem

/// `outbox stats`: the queue at a glance.
struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Counts per state, the oldest waiting message, recent deliveries and the commonest failures.",
        discussion: """
            "Sent" and "failed" count messages that reached that state in the window; failure \
            reasons are the replies of unsuccessful attempts in the last day.

            Examples:
              outbox stats
              outbox stats --json | jq .counts.deferred
              outbox stats --prometheus --output /var/lib/prometheus/node-exporter/outbox.prom

            --prometheus writes the queue's series in Prometheus's text format, the same values \
            outboxd serves on metrics.listen (without the daemon's own intake counters); \
            --output replaces FILE atomically (written beside it, then renamed), as node_exporter's \
            textfile collector expects.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "One JSON object (times in ISO 8601).")
    var json = false

    @Flag(name: .long, help: "Prometheus text format (for node_exporter's textfile collector).")
    var prometheus = false

    @Option(name: .long, help: ArgumentHelp("With --prometheus: write to this file (atomically) instead of standard output.", valueName: "file"))
    var output: String?

    func validate() throws {
        if json && prometheus { throw ValidationError("choose one of --json and --prometheus") }
        if output != nil && !prometheus { throw ValidationError("--output goes with --prometheus") }
    }

    func run() async throws {
        let store = try await global.openQueue()
        let now = UnixTime.current
        if prometheus {
            try await writePrometheus(store: store, now: now)
            return
        }
        let stats: QueueStatistics
        do {
            stats = try await store.statistics(now: now)
        } catch {
            throw queueFailure(error, path: store.path, action: "read")
        }
        print(json ? Self.json(stats, now: now) : Self.text(stats, now: now), terminator: json ? "\n" : "")
    }

    private func writePrometheus(store: QueueStore, now: UnixTime) async throws {
        // smtp.enabled comes from the configuration; with --database alone and no readable
        // configuration file, SMTP counts as enabled.
        let smtpEnabled = (try? await OutboxConfiguration.load(file: global.config))?.smtp.enabled ?? true
        let text: String
        do {
            text = try await OutboxMetrics().render(store: store, smtpEnabled: smtpEnabled, now: now)
        } catch {
            throw queueFailure(error, path: store.path, action: "read")
        }
        guard let output else {
            print(text, terminator: "")
            return
        }
        do {
            try TextfileWriter.replace(output, with: text)
        } catch {
            throw ExitStatus.cantCreate.fail("cannot write \(output): \(error)")
        }
    }

    static func text(_ stats: QueueStatistics, now: UnixTime) -> String {
        var rows: [(String, String)] = QueueState.allCases.map { ($0.rawValue, "\(stats.counts[$0])") }
        rows.append(("in flight", "\(stats.inFlight)"))
        rows.append(("oldest waiting", stats.counts.oldestWaiting.map { $0.relative(to: now) } ?? "-"))
        rows.append(("sent", "\(stats.sentLastHour) in the last hour, \(stats.sentLastDay) in the last day"))
        rows.append(("failed", "\(stats.failedLastHour) in the last hour, \(stats.failedLastDay) in the last day"))
        let width = rows.map(\.0.count).max() ?? 0
        var out = ""
        for (index, row) in rows.enumerated() {
            if index == QueueState.allCases.count + 2 { out += "\n" }
            out += row.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + row.1 + "\n"
        }
        if !stats.topFailureReasons.isEmpty {
            out += "\nTop failure reasons (last day):\n"
            let countWidth = stats.topFailureReasons.map { "\($0.count)".count }.max() ?? 0
            for reason in stats.topFailureReasons {
                let count = "\(reason.count)"
                out += "  " + String(repeating: " ", count: countWidth - count.count) + count + "  " + reason.reason + "\n"
            }
        }
        return out
    }

    static func json(_ stats: QueueStatistics, now: UnixTime) -> String {
        var counts: [String: Int] = [:]
        for state in QueueState.allCases { counts[state.rawValue] = stats.counts[state] }
        let object: [String: Any] = [
            "generated_at": now.iso8601,
            "counts": counts,
            "in_flight": stats.inFlight,
            "oldest_waiting_time": stats.counts.oldestWaiting.map(\.iso8601) ?? NSNull(),
            "oldest_waiting_age_seconds": stats.counts.oldestWaiting.map { Int((now - $0).wholeMilliseconds / 1000) } ?? NSNull(),
            "sent_last_hour": stats.sentLastHour,
            "sent_last_day": stats.sentLastDay,
            "failed_last_hour": stats.failedLastHour,
            "failed_last_day": stats.failedLastDay,
            "top_failure_reasons": stats.topFailureReasons.map { ["reason": $0.reason, "count": $0.count] as [String: Any] },
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
