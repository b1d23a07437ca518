import Dispatch
import Foundation
import OutboxCore
import OutboxMetrics
import OutboxStore
import Testing

/// A fresh queue file in its own temporary directory, removed afterwards.
private struct TemporaryQueue: ~Copyable {
    let directory: URL
    var path: String { directory.appendingPathComponent("queue.sqlite3").path }

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-metrics-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

/// The value of one series (`name{labels}` exactly as Prometheus's text format writes it), or nil.
func sample(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        if line[..<space] == series { return Double(line[line.index(after: space)...]) }
    }
    return nil
}

@Suite("Prometheus metrics from a real queue file")
struct OutboxMetricsTests {
    let t0 = UnixTime(seconds: 1_800_000_000)

    func message(_ to: String) throws -> IncomingMessage {
        let text = "From: sender@example.org\nTo: \(to)\nSubject: s\n\nbody\n"
        return try IncomingMessage(eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: t0, uniqueToken: "u"))
    }

    /// Four messages: one delivered, one deferred (451), one deferred for our settings (535 at AUTH), one waiting.
    func fill(_ store: QueueStore) async throws {
        for index in 0..<4 { _ = try await store.enqueue(try message("r\(index)@example.org"), spoolName: "\(index).eml", now: t0) }
        // The delivery workers' path: the store's turns, as the daemon's ledger commits them (blocking, so off
        // the cooperative pool).
        let t0 = t0
        func take(_ turn: DeliveryTurn) async throws -> DeliveryTurn.Result {
            try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(with: Result {
                        try store.takeTurns([turn], now: t0, owner: "A", leaseFor: .seconds(60))[0]
                    })
                }
            }
        }
        var claimed: [ClaimedMessage] = []
        for _ in 0..<3 {
            claimed.append(try #require(try await take(DeliveryTurn(finishing: nil, claims: true)).claimed))
        }
        let outcomes: [(DeliveryOutcome, QueueState, Int)] = [
            (.delivered(reply: "250 2.0.0 Ok: queued as 1234"), .sent, 10),
            (.temporaryFailure(reason: "451 4.3.0 try again later"), .deferred, 20),
            (.configurationError(reason: "authentication failed (535 5.7.8 refused) — check smtp.username / smtp.password"), .deferred, 30),
        ]
        for (message, (outcome, state, offset)) in zip(claimed, outcomes) {
            let attempt = AttemptRecord(
                startedAt: t0 + .seconds(offset), duration: .milliseconds(5), server: "127.0.0.1:25",
                outcome: outcome, newState: state, nextAttemptAt: state == .deferred ? t0 + .seconds(600) : nil)
            let result = try await take(DeliveryTurn(finishing: (id: message.id, attempt: attempt), claims: false))
            try #require(result.recorded == true)
        }
    }

    @Test("Queue gauges, attempt counters, reply classes and timestamps come from the queue file")
    func fromTheQueueFile() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        try await fill(store)
        let text = try await OutboxMetrics(version: "1.2.3").render(store: store, smtpEnabled: true, now: t0 + .seconds(100))

        #expect(sample(text, #"outbox_queue_messages{state="queued"}"#) == 1)
        #expect(sample(text, #"outbox_queue_messages{state="deferred"}"#) == 2)
        #expect(sample(text, #"outbox_queue_messages{state="sent"}"#) == 1)
        #expect(sample(text, #"outbox_queue_messages{state="failed"}"#) == 0)
        #expect(sample(text, #"outbox_queue_messages{state="held"}"#) == 0)
        #expect(sample(text, "outbox_oldest_waiting_seconds") == 100)
        #expect(sample(text, #"outbox_delivery_attempts_total{result="delivered"}"#) == 1)
        #expect(sample(text, #"outbox_delivery_attempts_total{result="temporary"}"#) == 1)
        #expect(sample(text, #"outbox_delivery_attempts_total{result="configuration"}"#) == 1)
        #expect(sample(text, #"outbox_delivery_attempts_total{result="permanent"}"#) == 0)
        #expect(sample(text, #"outbox_smtp_replies_total{class="2xx"}"#) == 1)
        #expect(sample(text, #"outbox_smtp_replies_total{class="4xx"}"#) == 1)
        #expect(sample(text, #"outbox_smtp_replies_total{class="none"}"#) == 1, "a reason that does not start with a reply code")
        #expect(sample(text, "outbox_last_delivery_timestamp_seconds") == Double(t0.milliseconds / 1000 + 10))
        #expect(sample(text, "outbox_last_attempt_timestamp_seconds") == Double(t0.milliseconds / 1000 + 30))
        #expect(sample(text, #"outbox_configuration_problem{setting="smtp.username"}"#) == 1)
        #expect(sample(text, "outbox_smtp_disabled") == 0)
        #expect(sample(text, #"outbox_build_info{version="1.2.3"}"#) == 1)
        #expect(sample(text, #"outbox_intake_files_total{result="queued"}"#) == 0, "process counters start at 0")
        #expect(text.contains("# TYPE outbox_delivery_attempts_total counter"))
        #expect(text.contains("# HELP outbox_queue_messages "))
    }

    @Test("Counters survive reopening the queue and deleting messages; a second scrape adds nothing twice")
    func countersSurvive() async throws {
        let queue = TemporaryQueue()
        do {
            let store = try QueueStore(path: queue.path)
            try await fill(store)
            try await store.close()
        }
        let store = try QueueStore(path: queue.path)
        let metrics = OutboxMetrics()
        _ = try await metrics.render(store: store, smtpEnabled: true, now: t0)
        let ids = try await store.list(now: t0).map(\.id)
        _ = try await store.apply(.delete, to: ids, now: t0)
        let text = try await metrics.render(store: store, smtpEnabled: false, now: t0)
        #expect(sample(text, #"outbox_queue_messages{state="deferred"}"#) == 0)
        #expect(sample(text, #"outbox_delivery_attempts_total{result="delivered"}"#) == 1)
        #expect(sample(text, #"outbox_delivery_attempts_total{result="temporary"}"#) == 1)
        #expect(sample(text, #"outbox_smtp_replies_total{class="2xx"}"#) == 1)
        #expect(sample(text, "outbox_oldest_waiting_seconds") == 0)
        #expect(sample(text, "outbox_smtp_disabled") == 1)
        #expect(sample(text, "outbox_last_delivery_timestamp_seconds") == Double(t0.milliseconds / 1000 + 10))
        // With no attempt history left, no configuration problem is known.
        #expect(sample(text, #"outbox_configuration_problem{setting=""}"#) == 0)
        #expect(sample(text, #"outbox_configuration_problem{setting="smtp.username"}"#) == nil)
    }

    @Test("An empty queue renders every series at zero")
    func emptyQueue() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let text = try await OutboxMetrics().render(store: store, smtpEnabled: true, now: t0)
        for state in QueueState.allCases {
            #expect(sample(text, "outbox_queue_messages{state=\"\(state.rawValue)\"}") == 0)
        }
        #expect(sample(text, "outbox_last_delivery_timestamp_seconds") == 0)
        #expect(sample(text, #"outbox_configuration_problem{setting=""}"#) == 0)
        #expect(sample(text, "outbox_build_info{version=\"\(OutboxVersion.current)\"}") == 1)
    }

    @Test("A configuration problem is labelled with the setting its reason names",
          arguments: [
            ("authentication failed (535 5.7.8) — check smtp.username / smtp.password", "smtp.username"),
            ("TLS failed: bad cert — if the server's certificate is self-signed or names another host, list the host in smtp.ssl_trust", "smtp.ssl_trust"),
            ("530 5.7.0 Must issue a STARTTLS command first — the server requires authentication: set smtp.auth: true", "smtp.auth"),
            ("554 5.7.1 go away", "smtp.host"),
            ("nosmtp.port here", "smtp.host"),
          ])
    func settingLabel(reason: String, setting: String) {
        #expect(ConfigurationProblem.setting(in: reason) == setting)
    }
}
