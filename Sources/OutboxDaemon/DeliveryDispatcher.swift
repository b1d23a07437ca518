import Logging
import OutboxConfig
import OutboxCore
import OutboxDelivery
import OutboxStore
import ServiceLifecycle

/// Orchestrates delivery: `delivery.workers` workers each claim one due message at a time (under
/// a lease), hand it to the transport, and store what the pure ``AttemptDecision`` makes of the
/// transport's ``TransactionResult`` (states, next attempt, lifetime). Storing an outcome and
/// claiming the next message are one turn at the ``DeliveryLedger`` (group commit with the other workers' turns);
/// each worker runs on its transport lane's thread, where that turn may block.
///
/// On graceful shutdown no worker claims anything new; a send in flight finishes (curl's
/// timeouts bound it) and is recorded. If the group's shutdown deadline cancels it, curl is
/// aborted and the lease is released.
struct DeliveryDispatcher: Service {
    let smtp: SMTPSettings
    let delivery: DeliverySettings
    let transport: any DeliveryTransport
    let store: QueueStore
    let doorbell: Doorbell
    let state: DaemonState
    let logger: Logger
    /// This daemon instance's lease owner id.
    let owner: String
    /// Hands each worker its own lease owner id and judges everybody's (see ``LeaseOwners``).
    let leaseOwners: LeaseOwners
    let leaseDuration: Duration
    let now: @Sendable () -> UnixTime
    let random: @Sendable () -> Double
    /// The longest an idle worker sleeps before looking again (and recording its heartbeat for the
    /// watchdog): a quarter of WatchdogSec when that is set.
    var wakeInterval: Duration = .seconds(30)

    func run() async throws {
        guard smtp.enabled else {
            logger.notice("SMTP disabled (smtp.enabled is false): mail is queued and kept, nothing is sent")
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                state.update { $0.deliveryHeartbeats[0] = .now }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wakeInterval) }
            }
            return
        }
        logger.notice("Delivering", metadata: [LogKey.smtpDestination: "\(transport.destination)", LogKey.workers: "\(delivery.workers)"])
        if smtp.skipsCertificateVerification {
            logger.warning("TLS certificates are not verified for this host (smtp.ssl_trust)", metadata: [LogKey.smtpHost: "\(smtp.host)"])
        }
        let gate = delivery.rateLimit.map { RateGate(messagesPerMinute: $0) }
        if let limit = delivery.rateLimit {
            logger.notice("Sending at most \(limit) messages a minute (delivery.rate_limit)")
        }
        // A next attempt further ahead than the longest retry delay (with its jitter) was scheduled
        // before the clock went back: such mail is due now rather than days later.
        let overdueAfter = delivery.retry.maximumDelay * (1 + delivery.retry.jitter) + .seconds(60)
        let ledger = DeliveryLedger(store: store, owner: owner, leaseDuration: leaseDuration, now: now,
                                    judge: { [leaseOwners] in leaseOwners.status(of: $0) }, overdueAfter: overdueAfter)
        await withTaskGroup(of: Void.self) { group in
            for lane in 0..<delivery.workers {
                // The worker runs on its lane's thread: sending and the (blocking) group commit
                // happen there, without hops through the cooperative pool.
                group.addTask(executorPreference: transport.taskExecutor(lane: lane)) {
                    await work(lane: lane, gate: gate, ledger: ledger, overdueAfter: overdueAfter)
                }
            }
        }
    }

    private func work(lane: Int, gate: RateGate?, ledger: DeliveryLedger, overdueAfter: Duration) async {
        // This worker's own lease owner id: only it can record or release what it claimed, and no
        // other worker takes its lease while it runs.
        let me = leaseOwners.enlist()
        defer { leaseOwners.retire(me) }
        // An attempt made but not recorded yet: it goes to the queue with the next claim, in one
        // commit shared with the other workers' turns. It is kept until it is on disk: a send's
        // outcome is never dropped because the queue could not be written for a moment.
        var unrecorded: Unrecorded?
        while true {
            state.update { $0.deliveryHeartbeats[lane] = .now }
            let generation = doorbell.generation
            // A lost queue file stops claims at once (the group's shutdown follows).
            let stopping = Task.isShuttingDownGracefully || Task.isCancelled || state.snapshot.queueFileLost != nil
            if unrecorded != nil, stopping || gate != nil {
                // Nothing more to claim, or the claim may wait for a sending slot: record it now.
                await record(&unrecorded, claimingNext: false, owner: me, ledger: ledger)
                if let made = unrecorded {
                    if stopping {
                        logger.critical("Stopping with a delivery outcome that could not be recorded; the message is sent again after the restart",
                                        metadata: [LogKey.queueID: "\(made.claimed.id)"])
                        return
                    }
                    await idle(after: generation, for: .seconds(5))
                    continue
                }
            }
            if stopping { return }
            if let gate {
                // Take a sending slot before claiming, so a waiting worker holds no lease.
                do {
                    try await cancelWhenGracefulShutdown { try await gate.acquire() }
                } catch {
                    continue
                }
            }
            let next = await record(&unrecorded, claimingNext: true, owner: me, ledger: ledger)
            switch next {
            case .queueUnavailable:
                await gate?.giveBack()
                await idle(after: generation, for: .seconds(5))
            case .nothingDue:
                await gate?.giveBack()
                var wait = wakeInterval
                if let due = try? await store.nextDueTime(now: now()) {
                    // Due further ahead than any retry delay: the clock went back, and the claim
                    // takes it as due now.
                    wait = due - now() > overdueAfter ? .milliseconds(10) : min(max(due - now(), .milliseconds(10)), wait)
                }
                await idle(after: generation, for: wait)
            case .message(let message):
                unrecorded = await attempt(message, lane: lane, owner: me)
            }
        }
    }

    /// What a worker's turn at the ledger left it to do next.
    private enum NextStep {
        /// The queue could not be written (logged): wait a little, then try again.
        case queueUnavailable
        /// Nothing is due now (or no claim was asked for).
        case nothingDue
        case message(ClaimedMessage)
    }

    /// Commits `made` (when given; set to nil once it is on disk) and, when `claimingNext`, leases
    /// the next due message under `owner`.
    @discardableResult
    private func record(_ made: inout Unrecorded?, claimingNext: Bool, owner: String, ledger: DeliveryLedger) async -> NextStep {
        let result: DeliveryTurn.Result
        do {
            // Blocks this lane's own thread until the shared commit is done (see the task's executor).
            result = try ledger.take(DeliveryTurn(
                finishing: made.map { ($0.claimed.id, $0.record) }, claims: claimingNext, owner: owner))
        } catch {
            if let made {
                logger.error("Cannot record a delivery outcome yet; it is kept and recorded when the queue can be written",
                             metadata: [LogKey.queueID: "\(made.claimed.id)", LogKey.error: "\(error)"])
            }
            if claimingNext {
                logger.error("Cannot claim messages from the queue", metadata: [LogKey.error: "\(error)"])
            }
            return .queueUnavailable
        }
        if let recorded = made {
            made = nil
            await report(recorded, recorded: result.recorded ?? false)
        }
        return result.claimed.map(NextStep.message) ?? .nothingDue
    }

    private func idle(after generation: UInt64, for duration: Duration) async {
        await cancelWhenGracefulShutdown {
            await doorbell.wait(after: generation, timeout: duration)
        }
    }

    /// Sends `message` once and decides what its attempt means (state, next attempt, recipients).
    /// - Returns: nil when the shutdown deadline aborted the send (the message was given back).
    private func attempt(_ claimed: ClaimedMessage, lane: Int, owner: String) async -> Unrecorded? {
        // At most max_recipients_per_transaction recipients per transaction: this one takes the
        // first still-queued ones (claims offer only those), the rest wait for the next.
        var message = claimed
        let untried = max(message.envelope.recipients.count - delivery.maxRecipientsPerTransaction, 0)
        if untried > 0 {
            message.envelope.recipients.removeLast(untried)
            message.recipientPositions.removeLast(untried)
        }
        let started = now()
        let clock = ContinuousClock()
        let start = clock.now
        let result = await withTaskGroup(of: Void.self) { watch in
            if let initial = transport.transferProgress(lane: lane) {
                // Trust for the watchdog while the transfer is alive: libcurl's progress callback
                // beats about once a second for as long as curl runs, and curl's own timeouts bound
                // that. Preparing the message (7-bit rewrite, prefix) earns no trust: a message that
                // wedges the lane there stops the pings within WatchdogSec, and poison containment
                // holds it after the second restart.
                state.update { $0.deliveryHeartbeats[lane] = .now }
                watch.addTask(executorPreference: globalConcurrentExecutor) {
                    var last = initial
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(500))
                        guard let current = transport.transferProgress(lane: lane), current != last else { continue }
                        last = current
                        state.update { $0.deliveryHeartbeats[lane] = .now }
                    }
                }
            } else {
                // A transport that cannot tell: vouch until its timeouts (connect, each reply) run out.
                let bound = smtp.connectTimeout + smtp.responseTimeout * (6 + message.envelope.recipients.count)
                state.update { $0.deliveryHeartbeats[lane] = start + bound }
            }
            let result = await transport.send(message.envelope, content: message.content, lane: lane)
            watch.cancelAll()
            return result
        }
        let duration = clock.now - start
        if Task.isCancelled {
            // Shutdown deadline: curl was aborted; give the message back as it was.
            try? await store.release(message.id, owner: owner)
            return nil
        }
        let decision = AttemptDecision(
            result, attempt: message.previousAttempts + 1, queuedAt: message.queuedAt, alreadySent: message.alreadySent,
            untried: untried, startedAt: started, now: now(), retry: delivery.retry, random: random())
        let updates = decision.recipients.compactMap { result -> AttemptRecord.RecipientUpdate? in
            guard message.recipientPositions.indices.contains(result.index) else { return nil }
            return AttemptRecord.RecipientUpdate(
                position: message.recipientPositions[result.index], state: result.state, reply: result.reply)
        }
        let record = AttemptRecord(startedAt: started, duration: duration, server: transport.destination,
                                   outcome: decision.outcome, newState: decision.newState,
                                   nextAttemptAt: decision.nextAttemptAt, recipients: updates)
        return (message, record, decision)
    }

    /// Says what a recorded attempt did: the log line, the status line, a failure notice.
    private func report(_ made: Unrecorded, recorded: Bool) async {
        let message = made.claimed
        let outcome = made.decision.outcome
        let newState = made.decision.newState
        let attempt = message.previousAttempts + 1
        var logger = logger
        logger[metadataKey: LogKey.queueID] = "\(message.id)"
        if !recorded {
            logger.warning(
                "The message changed while it was being sent (lease lost); the attempt and its recipients' results were recorded, its state left as the queue has it",
                metadata: [LogKey.outcome: "\(outcome.kind)"])
        } else {
            let failed = made.decision.recipients.filter { $0.state == .failed && message.envelope.recipients.indices.contains($0.index) }
                .map { FailureNotice.Failure(address: message.envelope.recipients[$0.index].value, reply: $0.reply) }
            await queueFailureNotice(for: message, attempt: attempt, failed: failed, logger: logger)
        }

        state.update {
            $0.changes &+= 1
            $0.lastReply = (outcome.text, now())
            if made.decision.isSettingsProblem {
                $0.configurationProblem = outcome.text
            } else if outcome.kind == .delivered || outcome.kind == .permanent {
                $0.configurationProblem = nil
            }
        }

        // Built only when a line is logged (the metadata parameter is an autoclosure).
        func metadata() -> Logger.Metadata {
            var metadata: Logger.Metadata = [
                LogKey.attempt: "\(attempt)", LogKey.recipients: "\(message.envelope.recipients.count)",
                LogKey.smtpReply: "\(outcome.text)", LogKey.durationMilliseconds: "\(made.record.duration.wholeMilliseconds)",
            ]
            if newState == .deferred {
                metadata[LogKey.nextAttempt] = "\(made.decision.nextAttemptAt.map { RFC5322Date.format($0) } ?? "-")"
            }
            return metadata
        }
        switch newState {
        case .deferred where made.decision.continues:
            logger.info("Recipient batch done; the next batch follows", metadata: metadata())
        case .sent:
            logger.info("Message delivered", metadata: metadata())
        case .failed:
            logger.info("Message failed permanently", metadata: metadata())
        default:
            if made.decision.isSettingsProblem {
                logger.error("Delivery failing because of the SMTP settings; mail is kept and retried", metadata: metadata())
            } else {
                logger.info("Message deferred", metadata: metadata())
            }
        }
    }
}

/// An attempt decided but not on disk yet: the message as claimed (for the report), the
/// decision, and its stored form.
private typealias Unrecorded = (claimed: ClaimedMessage, record: AttemptRecord, decision: AttemptDecision)
