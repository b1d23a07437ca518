import Logging
import OutboxConfig
import OutboxCore
import OutboxDelivery
import OutboxStore
import ServiceLifecycle

/// Decides what to send when, and records what happened: `delivery.workers` workers each claim
/// one due message at a time (under a lease), hand it to the transport, and store the outcome,
/// with the next attempt from the ``RetryPolicy``.
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
        logger.notice("Delivering", metadata: ["smtp.destination": "\(transport.destination)", "outbox.workers": "\(delivery.workers)"])
        if smtp.skipsCertificateVerification {
            logger.warning("TLS certificates are not verified for this host (smtp.ssl_trust)", metadata: ["smtp.host": "\(smtp.host)"])
        }
        let gate = delivery.rateLimit.map { RateGate(messagesPerMinute: $0) }
        if let limit = delivery.rateLimit {
            logger.notice("Sending at most \(limit) messages a minute (delivery.rate_limit)")
        }
        await withTaskGroup(of: Void.self) { group in
            for lane in 0..<delivery.workers {
                group.addTask { await work(lane: lane, gate: gate) }
            }
        }
    }

    private func work(lane: Int, gate: RateGate?) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            state.update { $0.deliveryHeartbeats[lane] = .now }
            let generation = doorbell.generation
            if let gate {
                // Take a sending slot before claiming, so a waiting worker holds no lease.
                do {
                    try await cancelWhenGracefulShutdown { try await gate.acquire() }
                } catch {
                    continue
                }
            }
            let claimed: [ClaimedMessage]
            do {
                claimed = try await store.claimDue(limit: 1, now: now(), owner: owner, leaseFor: leaseDuration)
            } catch {
                logger.error("Cannot claim messages from the queue", metadata: ["error": "\(error)"])
                await gate?.giveBack()
                await idle(after: generation, for: .seconds(5))
                continue
            }
            guard let message = claimed.first else {
                await gate?.giveBack()
                var wait = wakeInterval
                if let due = try? await store.nextDueTime() {
                    wait = min(max(due - now(), .milliseconds(10)), wait)
                }
                await idle(after: generation, for: wait)
                continue
            }
            await deliver(message, lane: lane)
        }
    }

    private func idle(after generation: UInt64, for duration: Duration) async {
        await cancelWhenGracefulShutdown {
            await doorbell.wait(after: generation, timeout: duration)
        }
    }

    private func deliver(_ message: ClaimedMessage, lane: Int) async {
        var logger = logger
        logger[metadataKey: "outbox.queue_id"] = "\(message.id)"
        let attempt = message.previousAttempts + 1
        let started = now()
        let clock = ContinuousClock()
        let start = clock.now
        // The send is bounded by curl's timeouts (connect, then each server reply): this loop vouches for
        // itself until then, so a slow but live server does not stop the watchdog pings.
        let bound = smtp.connectTimeout + smtp.responseTimeout * (6 + message.envelope.recipients.count)
        state.update { $0.deliveryHeartbeats[lane] = start + bound }
        let result = await transport.attempt(message.envelope, content: message.content, lane: lane)
        let duration = clock.now - start
        if Task.isCancelled {
            // Shutdown deadline: curl was aborted; give the message back as it was.
            try? await store.release(message.id, owner: owner)
            return
        }

        var outcome = result.outcome
        var recipients = result.recipients
        var newState = RecipientResult.messageState(after: recipients, alreadySent: message.alreadySent)
        var nextAttempt: UnixTime?
        if newState == .deferred {
            if outcome.kind != .configuration, let pending = recipients.first(where: { $0.state == .queued }) {
                // Delivered to or refused for some, put off for others: the message waits for
                // those, and its last error is why.
                outcome = .temporaryFailure(reason: pending.reply)
            }
            switch delivery.retry.decision(afterAttempt: attempt, queuedAt: message.queuedAt, now: now(), random: random()) {
            case .retry(let at):
                nextAttempt = at
            case .giveUp where outcome.kind == .configuration:
                // Our settings are wrong, not the mail: keep trying at the longest interval.
                nextAttempt = now() + delivery.retry.maximumDelay
            case .giveUp:
                for index in recipients.indices where recipients[index].state == .queued {
                    recipients[index].state = .failed
                    recipients[index].reply = "gave up after \(attempt) attempts (delivery.lifetime): \(recipients[index].reply)"
                }
                newState = RecipientResult.messageState(after: recipients, alreadySent: message.alreadySent)
                if newState == .failed {
                    outcome = .permanentFailure(reason: "gave up after \(attempt) attempts (delivery.lifetime): \(outcome.text)")
                }
            }
        }
        let updates = recipients.compactMap { result -> AttemptRecord.RecipientUpdate? in
            guard message.recipientPositions.indices.contains(result.index) else { return nil }
            return AttemptRecord.RecipientUpdate(
                position: message.recipientPositions[result.index], state: result.state, reply: result.reply)
        }

        let record = AttemptRecord(startedAt: started, duration: duration, server: transport.destination,
                                   outcome: outcome, newState: newState, nextAttemptAt: nextAttempt,
                                   recipients: updates)
        do {
            let stillOurs = try await store.finish(message.id, owner: owner, attempt: record)
            if !stillOurs {
                logger.warning("The message changed while it was being sent (lease lost); outcome not recorded",
                               metadata: ["outbox.outcome": "\(outcome.kind)"])
            } else {
                let failed = recipients.filter { $0.state == .failed && message.envelope.recipients.indices.contains($0.index) }
                    .map { FailureNotice.Failure(address: message.envelope.recipients[$0.index].value, reply: $0.reply) }
                await queueFailureNotice(for: message, attempt: attempt, failed: failed, logger: logger)
            }
        } catch {
            logger.error("Cannot record a delivery outcome; the message will be retried when its lease ends",
                         metadata: ["error": "\(error)"])
        }

        state.update {
            $0.changes &+= 1
            $0.lastReply = (outcome.text, now())
            if outcome.kind == .configuration {
                $0.configurationProblem = outcome.text
            } else if outcome.kind == .delivered || outcome.kind == .permanent {
                $0.configurationProblem = nil
            }
        }

        let metadata: Logger.Metadata = [
            "outbox.attempt": "\(attempt)", "outbox.recipients": "\(message.envelope.recipients.count)",
            "smtp.reply": "\(outcome.text)", "outbox.duration_ms": "\(duration.wholeMilliseconds)",
        ]
        switch newState {
        case .sent:
            logger.info("Message delivered", metadata: metadata)
        case .failed:
            logger.info("Message failed permanently", metadata: metadata)
        default:
            var deferred = metadata
            deferred["outbox.next_attempt"] = "\(nextAttempt.map { RFC5322Date.format($0) } ?? "-")"
            if outcome.kind == .configuration {
                logger.error("Delivery failing because of the SMTP settings; mail is kept and retried", metadata: deferred)
            } else {
                logger.info("Message deferred", metadata: deferred)
            }
        }
    }
}
