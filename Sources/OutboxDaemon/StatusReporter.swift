import Logging
import OutboxCore
import OutboxStore
import ServiceLifecycle
import Systemd

/// Keeps systemd informed: `READY=1` when started (the queue is open and the spool watched by
/// then, and the SMTP listener, when there is one, accepts connections), a one-line `STATUS=` when something changed (at most once a second), watchdog pings
/// every half interval while the intake and delivery heartbeats are fresh (``WatchdogPolicy``), and
/// `STOPPING=1` on shutdown. Runs last, so it stops first.
struct StatusReporter: Service {
    let store: QueueStore
    let state: DaemonState
    let notifier: Notifier
    let logger: Logger
    let now: @Sendable () -> UnixTime
    /// Whether an SMTP listener runs: then READY=1 waits until it listens, so a client started
    /// after readiness never finds the port closed (and a port it cannot bind is never "ready").
    var awaitsListener = false

    func run() async throws {
        var lastChanges: UInt64 = .max
        var lastText = ""
        // READY=1 once intake and delivery are set up (the reloader starts with us): the first STATUS
        // already names the destination.
        while state.snapshot.generation == 0 || (awaitsListener && state.snapshot.listening.isEmpty),
            !Task.isShuttingDownGracefully && !Task.isCancelled
        {
            try? await Task.sleep(for: .milliseconds(5))
        }
        notifier.ready(status: await statusLine())
        logger.notice("Ready")
        var watchdog = notifier.watchdogInterval.map {
            WatchdogPinger(interval: $0, start: ContinuousClock.now)
        }
        // Wake often enough for both the once-a-second STATUS and the half-interval pings.
        let tick = min(Duration.seconds(1), watchdog?.policy.loopWakeInterval ?? .seconds(1))
        var lastWall = now()
        var lastMonotonic = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // The wall clock against the monotonic one: a step is what NTP does to a clock that was
            // wrong; scheduling copes (see RetryPolicy, leases), the admin should still know.
            let wall = now()
            let monotonic = ContinuousClock.now
            let step = (wall - lastWall) - (monotonic - lastMonotonic)
            if step > Self.clockStepThreshold || step < .zero - Self.clockStepThreshold {
                logger.warning("The wall clock was stepped", metadata: [
                    LogKey.clockStep: "\(step < .zero ? "back" : "forward") \(RelativeTime.describe(step < .zero ? .zero - step : step))",
                ])
                state.update {
                    $0.clockStep = (step, wall)
                    $0.changes &+= 1
                }
            }
            lastWall = wall
            lastMonotonic = monotonic
            let snapshot = state.snapshot
            // Relative times in the text are coarse (minutes): re-rendering every second changes it at
            // most once a minute, and STATUS is sent only when the text changed.
            if snapshot.changes != lastChanges || lastText.contains(" ago") || lastText.contains(" now")
                || lastText.contains("<1m")
            {
                lastChanges = snapshot.changes
                let text = await statusLine()
                if text != lastText {
                    notifier.status(text)
                    lastText = text
                }
            }
            switch watchdog?.action(heartbeats: snapshot.heartbeats, now: .now) {
            case .ping?:
                notifier.watchdog()
            case .stopPinging(let age)?:
                logger.critical(
                    "A loop stopped making progress; no more watchdog pings, so systemd restarts outboxd",
                    metadata: [LogKey.oldestHeartbeatAge: "\(age)"])
            case .wait?, nil:
                break
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: tick) }
        }
        notifier.stopping(status: state.snapshot.queueFileLost.map {
            "CRITICAL: \($0); intake and delivery stopped, writing unsent mail back to the spool"
        } ?? "stopping")
        logger.notice("Stopping")
    }

    /// A difference between wall-clock and monotonic time that counts as a step (slewing is far slower).
    static let clockStepThreshold: Duration = .seconds(30)

    /// An age in whole minutes or more (`<1m` under a minute).
    static func coarseAge(_ age: Duration) -> String {
        age < .seconds(60) ? "<1m" : RelativeTime.describe(age)
    }

    /// `3 spool files could not be removed` while any are kept (taken, but still in `new/`); nil for none.
    static func keptText(_ count: Int) -> String? {
        count == 0 ? nil : "\(count) spool file\(count == 1 ? "" : "s") could not be removed"
    }

    /// `smtp.example.org:587 STARTTLS · 12 queued, 3 deferred (oldest 2h), 0 failed · last: 250 OK 3s ago`
    func statusLine() async -> String {
        let snapshot = state.snapshot
        guard let counts = try? await store.counts() else { return "cannot read the queue" }
        let waiting = counts[.queued] + counts[.deferred]
        let reload = snapshot.reloadProblem.map { "reload refused, previous configuration kept: \($0)" }
        if !snapshot.smtpEnabled {
            let disabled = "SMTP disabled · \(waiting + counts[.held]) held"
            let intake = snapshot.intakeProblem.map { "intake paused: \($0)" }
            let kept = Self.keptText(snapshot.keptSpoolFiles)
            let listening = snapshot.listening.isEmpty ? nil : "listening \(snapshot.listening.joined(separator: " "))"
            return ([reload].compactMap { $0 } + [disabled] + [intake, kept, listening].compactMap { $0 })
                .joined(separator: " · ")
        }
        var parts: [String] = []
        if let lost = snapshot.queueFileLost { parts.append("CRITICAL: \(lost); intake and delivery stopped") }
        if let reload { parts.append(reload) }
        if let problem = snapshot.configurationProblem {
            parts.append("delivery failing: \(problem)")
        } else {
            parts.append(snapshot.destination)
        }
        var queue = "\(counts[.queued]) queued, \(counts[.deferred]) deferred"
        if let oldest = counts.oldestWaiting, waiting > 0 { queue += " (oldest \(Self.coarseAge(now() - oldest)))" }
        queue += ", \(counts[.failed]) failed"
        if counts[.held] > 0 { queue += ", \(counts[.held]) held" }
        parts.append(queue)
        if counts[.held] > 0, let poison = try? await store.heldAsPoison(), poison.count > 0 {
            let ids = poison.ids.map { "\($0)" }.joined(separator: ", ")
            parts.append("\(poison.count) \(QueueStore.poisonHoldReason) (\(ids)\(poison.count > poison.ids.count ? ", …" : ""))")
        }
        if let problem = snapshot.intakeProblem { parts.append("intake paused: \(problem)") }
        if let step = snapshot.clockStep, now() - step.at < .seconds(86_400) {
            let size = RelativeTime.describe(step.by < .zero ? .zero - step.by : step.by)
            parts.append("clock stepped \(step.by < .zero ? "back" : "forward") \(size) \(step.at.relative(to: now(), precision: .seconds(60)))")
        }
        if snapshot.quarantined > 0 { parts.append("\(snapshot.quarantined) rejected to failed/") }
        if let kept = Self.keptText(snapshot.keptSpoolFiles) { parts.append(kept) }
        if !snapshot.listening.isEmpty { parts.append("listening \(snapshot.listening.joined(separator: " "))") }
        if let last = snapshot.lastReply {
            parts.append("last: \(last.text.prefix(60)) \(last.at.relative(to: now(), precision: .seconds(60)))")
        }
        return parts.joined(separator: " · ")
    }
}
