public import OutboxCore
public import OutboxStore
public import Prometheus
import Synchronization

/// outbox's Prometheus metrics, rendered in the text format by `outboxd` (on `metrics.listen`) and
/// by `outbox stats --prometheus` (for node_exporter's textfile collector).
///
/// Two kinds of series:
/// - **From the queue file** (``refresh(from:smtpEnabled:now:)``, read at each scrape): message
///   counts per state, the oldest waiting message, attempt and SMTP reply counters, the last
///   attempt and delivery, the configuration problem. They survive restarts, and the CLI writes
///   the same values as the daemon serves.
/// - **Of this process** (counters a service increments, e.g. ``intakeFiles(_:)``): they start
///   at 0 when outboxd starts, which Prometheus's `rate()`/`increase()` handle as a counter reset.
///
/// Adding a metric is one line where it happens:
/// `metrics.counter("outbox_listener_sessions_total", "SMTP sessions accepted.", ["result": "ok"]).increment()`
/// (creating a series again returns the same one). The registry is also swift-metrics' backend in
/// outboxd, so anything counted through swift-metrics' `Counter(label:)` appears here too (without help text).
public final class OutboxMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let version: String
    /// The attempt counts already added to the counters, so each refresh adds only what is new.
    private let seenAttempts = Mutex<[AttemptCountKey: Int]>([:])
    /// The label of the configuration-problem series shown now ("" when there is none).
    private let problemLabel = Mutex<String?>(nil)

    /// Results a spool file can have at intake.
    public enum IntakeResult: String, Sendable, CaseIterable {
        /// Parsed and committed to the queue.
        case queued
        /// Already in the queue (a crash between commit and unlink); removed.
        case duplicate
        /// Unparseable or refused: moved to spool/failed/ with an .error file.
        case rejected
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), version: String = OutboxVersion.current) {
        self.registry = registry
        self.version = version
        gauge(Name.buildInfo, "outbox's version (the value is always 1).", ["version": version]).set(Int64(1))
        for state in QueueState.allCases { _ = queueMessages(state) }
        for kind in Self.outcomes { _ = attempts(kind) }
        for replyClass in Self.replyClasses { _ = replies(replyClass) }
        for result in IntakeResult.allCases { _ = intakeFiles(result) }
    }

    // MARK: - Names and series

    /// Metric names, for tests and the README's table.
    public enum Name {
        public static let queueMessages = "outbox_queue_messages"
        public static let oldestWaiting = "outbox_oldest_waiting_seconds"
        public static let deliveryAttempts = "outbox_delivery_attempts_total"
        public static let smtpReplies = "outbox_smtp_replies_total"
        public static let lastDelivery = "outbox_last_delivery_timestamp_seconds"
        public static let lastAttempt = "outbox_last_attempt_timestamp_seconds"
        public static let intakeFiles = "outbox_intake_files_total"
        public static let configurationProblem = "outbox_configuration_problem"
        public static let smtpDisabled = "outbox_smtp_disabled"
        public static let buildInfo = "outbox_build_info"
    }

    static let outcomes = ["delivered", "temporary", "permanent", "configuration"]
    static let replyClasses = ["2xx", "3xx", "4xx", "5xx", "none"]

    /// A counter series; the same name must always come with the same help text.
    public func counter(_ name: String, _ help: String, _ labels: KeyValuePairs<String, String> = [:]) -> Counter {
        let descriptor = MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        return labels.isEmpty
            ? registry.makeCounter(descriptor: descriptor)
            : registry.makeCounter(descriptor: descriptor, labels: labels.map { ($0.key, $0.value) })
    }

    /// A gauge series; the same name must always come with the same help text.
    public func gauge(_ name: String, _ help: String, _ labels: KeyValuePairs<String, String> = [:]) -> Gauge {
        let descriptor = MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        return labels.isEmpty
            ? registry.makeGauge(descriptor: descriptor)
            : registry.makeGauge(descriptor: descriptor, labels: labels.map { ($0.key, $0.value) })
    }

    /// Spool files taken in, by result. Counts from this process's start.
    public func intakeFiles(_ result: IntakeResult) -> Counter {
        counter(Name.intakeFiles, "Spool files taken in since outboxd started, by result (queued, duplicate, rejected).",
                ["result": result.rawValue])
    }

    func queueMessages(_ state: QueueState) -> Gauge {
        gauge(Name.queueMessages, "Messages in the queue by state (from the queue file).", ["state": state.rawValue])
    }

    func attempts(_ outcome: String) -> Counter {
        counter(Name.deliveryAttempts,
                "Delivery attempts by result (delivered, temporary, permanent, configuration); kept in the queue file.",
                ["result": outcome])
    }

    func replies(_ replyClass: String) -> Counter {
        counter(Name.smtpReplies,
                "Delivery attempts by the class of the SMTP reply that ended them (none: no reply, e.g. refused connection); kept in the queue file.",
                ["class": replyClass])
    }

    // MARK: - From the queue file

    /// Sets the queue-side series from `snapshot` (read with ``QueueStore/metricsSnapshot()``).
    public func update(from snapshot: QueueMetricsSnapshot, smtpEnabled: Bool, now: UnixTime) {
        for state in QueueState.allCases { queueMessages(state).set(Int64(snapshot.counts[state])) }
        let oldest = snapshot.counts.oldestWaiting.map { max(Double((now - $0).wholeMilliseconds) / 1000, 0) } ?? 0
        gauge(Name.oldestWaiting, "Age of the oldest queued or deferred message (0 when none waits).").set(oldest)
        gauge(Name.lastAttempt, "When the last delivery attempt started, Unix time (0: never).")
            .set(snapshot.lastAttemptAt.map { Double($0.milliseconds) / 1000 } ?? 0)
        gauge(Name.lastDelivery, "When the last successful delivery started, Unix time (0: never).")
            .set(snapshot.lastDeliveryAt.map { Double($0.milliseconds) / 1000 } ?? 0)
        gauge(Name.smtpDisabled, "1 while smtp.enabled is false: mail is queued and kept, nothing is sent.")
            .set(Int64(smtpEnabled ? 0 : 1))
        updateConfigurationProblem(snapshot.configurationProblem.map(ConfigurationProblem.setting(in:)))

        // The stored counters only grow: add what is new since the last refresh.
        let added = seenAttempts.withLock { seen -> [AttemptCountKey: Int] in
            var added: [AttemptCountKey: Int] = [:]
            for (key, n) in snapshot.attempts where n > seen[key, default: 0] {
                added[key] = n - seen[key, default: 0]
                seen[key] = n
            }
            return added
        }
        for (key, n) in added {
            attempts(key.outcome).increment(by: Int64(n))
            replies(key.replyClass).increment(by: Int64(n))
        }
    }

    /// One series at a time: `{setting="smtp.password"} 1` while a problem lasts, `{setting=""} 0` otherwise.
    private func updateConfigurationProblem(_ setting: String?) {
        let help = "1 while delivery fails because of a setting (named in the label), not because of the mail."
        problemLabel.withLock { current in
            let label = setting ?? ""
            guard current != label else { return }
            if let current {
                registry.unregisterGauge(gauge(Name.configurationProblem, help, ["setting": current]))
            }
            gauge(Name.configurationProblem, help, ["setting": label]).set(Int64(setting == nil ? 0 : 1))
            current = label
        }
    }

    /// Reads the queue file and renders every series in Prometheus's text format (version 0.0.4).
    public func render(store: QueueStore, smtpEnabled: Bool, now: UnixTime) async throws -> String {
        update(from: try await store.metricsSnapshot(), smtpEnabled: smtpEnabled, now: now)
        return registry.emitToString()
    }

    /// The `Content-Type` of ``render(store:smtpEnabled:now:)``'s text.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}
