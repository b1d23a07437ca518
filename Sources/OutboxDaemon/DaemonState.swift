import OutboxCore
import OutboxMetrics
import Synchronization

/// What the services tell each other about how things are going, for STATUS and the watchdog.
/// Values only; each field is written by one service.
final class DaemonState: Sendable {
    struct Snapshot: Sendable {
        /// Bumped on every queue change; the status reporter recounts when it moves.
        var changes: UInt64 = 0
        var lastReply: (text: String, at: UnixTime)?
        /// Set while delivery fails for a reason the admin must fix; cleared by a success.
        var configurationProblem: String?
        var quarantined = 0
        /// Spool files taken but not removable from `new/` (kept, skipped; see ``SpoolIntake``).
        var keptSpoolFiles = 0
        /// Set while intake cannot write to the queue (disk full, …).
        var intakeProblem: String?
        /// Heartbeats: when each loop last proved it was alive (for the watchdog, see `WatchdogPolicy`).
        /// One per delivery worker (lane); a worker's may lie in the future while it sends, since curl's
        /// timeouts bound the send.
        var intakeHeartbeat: ContinuousClock.Instant = .now
        var deliveryHeartbeats: [Int: ContinuousClock.Instant] = [:]

        /// Every heartbeat the watchdog requires to be fresh.
        var heartbeats: [ContinuousClock.Instant] { [intakeHeartbeat] + deliveryHeartbeats.values }
        /// What the running configuration delivers to (`smtp.example.org:587 STARTTLS`), and whether
        /// SMTP is enabled; replaced on reload.
        var destination = ""
        var smtpEnabled = true
        /// How many intake+delivery generations were set up (1 after start, +1 per applied reload).
        var generation = 0
        /// What the SMTP listener listens on (`127.0.0.1:25`); empty when it does not.
        var listening: [String] = []
        /// Set when the last reload was refused (invalid configuration); cleared by a good one.
        var reloadProblem: String?
        /// Set when the queue's path no longer names the open database (see ``QueueFileGuard``):
        /// intake and delivery stop at once, and outboxd writes unsent mail back and exits.
        var queueFileLost: String?
        /// The last time the wall clock jumped against the monotonic one (NTP stepping a clock that
        /// booted wrong): by how much (negative: back) and when (by the new clock).
        var clockStep: (by: Duration, at: UnixTime)?
    }

    private let state = Mutex(Snapshot())
    /// The Prometheus registry's owner; services count into it (``OutboxMetrics/intakeFiles(_:)``, …).
    let metrics: OutboxMetrics

    init(metrics: OutboxMetrics = OutboxMetrics()) {
        self.metrics = metrics
    }

    var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0) }
    }

    func noteChange() { update { $0.changes &+= 1 } }
}
