import Logging
import OutboxConfig
import OutboxCore
import OutboxDelivery
import OutboxStore
import ServiceLifecycle
import Synchronization
import Systemd
import UnixSignals

/// Runs the services that depend on the configuration — spool intake and delivery — and swaps them
/// for new ones on SIGHUP (`systemctl reload`).
///
/// A reload sends `RELOADING=1` + `MONOTONIC_USEC`, re-reads and validates the configuration, then
/// shuts the running intake and delivery down gracefully (in-flight sends finish, exactly as on
/// SIGTERM) and starts new ones — new SMTP lanes and connections, the new Email Prefix for the next
/// message — and sends `READY=1`. An invalid configuration changes nothing: one error line in the log,
/// the reason in `STATUS=`, and `READY=1`. The queue store, the doorbell and the lease owner are kept;
/// `queue.database` and `log.level` take effect at the next restart.
struct ConfigurationReloader: Service {
    /// What the generations share and never rebuild.
    struct Context: Sendable {
        let store: QueueStore
        let doorbell: Doorbell
        let state: DaemonState
        let notifier: Notifier
        let logger: Logger
        let owner: String
        let leaseOwners: LeaseOwners
        let watchdog: WatchdogPolicy?
        let now: @Sendable () -> UnixTime
    }

    /// One configuration with its spool watch, established before the previous generation stops.
    struct Generation: Sendable {
        let configuration: OutboxConfiguration
        let watcher: SpoolWatcher
    }

    struct UnexpectedStop: Error, CustomStringConvertible {
        var description: String { "intake and delivery stopped unexpectedly" }
    }

    let context: Context
    let first: Generation
    /// Re-reads the configuration; nil when there is nothing to re-read (SIGHUP is then only logged).
    let load: (@Sendable () async throws -> OutboxConfiguration)?
    /// SIGHUP, trapped before READY=1 so that an early `systemctl reload` cannot kill the daemon
    /// (SIGHUP's default action).
    let hangups: UnixSignalsSequence

    func run() async throws {
        let control = Control(current: first.configuration)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await runGenerations(control) }
            tasks.addTask {
                for await _ in hangups.cancelOnGracefulShutdown() {
                    await reload(control)
                }
                await control.stop()
            }
            try await tasks.next()
            if !control.isStopping { tasks.cancelAll() }
            try await tasks.waitForAll()
        }
    }

    // MARK: Generations

    private func runGenerations(_ control: Control) async throws {
        var generation = first
        var isFirst = true
        while true {
            let group = makeGroup(generation)
            guard await control.install(group, configuration: generation.configuration) else {
                generation.watcher.stop()
                return
            }
            if !isFirst {
                context.notifier.ready()
                let destination = context.state.snapshot.destination
                context.logger.notice("Reloaded", metadata: [LogKey.smtpDestination: "\(destination)"])
            }
            isFirst = false
            try await group.run()
            generation.watcher.stop()
            guard let next = control.takePending() else {
                // On SIGTERM the inner group can finish before the SIGHUP loop has marked the
                // control as stopping (they see the graceful shutdown concurrently): that is a
                // stop, not a failure (it made outboxd exit 75 now and then).
                if control.isStopping || Task.isShuttingDownGracefully { return }
                throw UnexpectedStop()
            }
            generation = next
        }
    }

    private func makeGroup(_ generation: Generation) -> ServiceGroup {
        let configuration = generation.configuration
        let transport = CurlSMTPTransport(
            settings: configuration.smtp, workers: configuration.delivery.workers,
            hostname: HostIdentity.fullyQualifiedName, tokens: makeTokenSource(configuration))
        var spool = configuration.spool
        var wakeInterval = Duration.seconds(30)
        if let watchdog = context.watchdog {
            // Idle loops still wake (and record a heartbeat) several times per watchdog interval.
            spool.rescanInterval = min(spool.rescanInterval, watchdog.loopWakeInterval)
            wakeInterval = watchdog.loopWakeInterval
        }
        let intake = SpoolIntake(
            spool: spool, defaultSender: configuration.smtp.from,
            hostname: HostIdentity.fullyQualifiedName, store: context.store, watcher: generation.watcher,
            doorbell: context.doorbell, state: context.state, logger: context.logger, now: context.now)
        let dispatcher = DeliveryDispatcher(
            smtp: configuration.smtp, delivery: configuration.delivery, transport: transport, store: context.store,
            doorbell: context.doorbell, state: context.state, logger: context.logger, owner: context.owner,
            leaseOwners: context.leaseOwners, leaseDuration: .seconds(600), now: context.now, random: { Double.random(in: 0..<1) },
            wakeInterval: wakeInterval)
        context.state.update {
            $0.destination = transport.destination
            $0.smtpEnabled = configuration.smtp.enabled
            $0.intakeHeartbeat = .now
            $0.deliveryHeartbeats = [:]  // the new workers add theirs as they start
            $0.generation += 1
            $0.changes &+= 1
        }
        context.store.setKeepsSentContent(configuration.queue.keepSentContent)
        let sweeper = RetentionSweeper(
            queue: configuration.queue, store: context.store, logger: context.logger, now: context.now)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [intake, dispatcher, sweeper], logger: context.logger)
        // Within the outer group's 20 s: in-flight sends get 15 s, then curl is aborted and leases released.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(15)
        groupConfiguration.maximumCancellationDuration = .seconds(3)
        return ServiceGroup(configuration: groupConfiguration)
    }

    /// With `smtp.oauth2`, one token cache per generation (a reload starts afresh with the new
    /// settings); a rotated refresh token is kept beside the queue database.
    private func makeTokenSource(_ configuration: OutboxConfiguration) -> OAuth2TokenSource? {
        guard let oauth2 = configuration.smtp.oauth2 else { return nil }
        let database = configuration.queue.database
        let directory = String(database[..<(database.lastIndex(of: "/") ?? database.startIndex)])
        return OAuth2TokenSource(
            settings: oauth2, caFile: configuration.smtp.caFile, connectTimeout: configuration.smtp.connectTimeout,
            stateDirectory: directory.isEmpty ? "/" : directory, now: context.now)
    }

    // MARK: Reload

    private func reload(_ control: Control) async {
        context.notifier.reloading()
        guard let load else {
            context.logger.warning("SIGHUP received, but there is no configuration file to re-read")
            context.notifier.ready()
            return
        }
        context.logger.notice("Reloading the configuration")
        let generation: Generation
        do {
            let configuration = try await load()
            let watcher = try SpoolWatcher(directory: configuration.spool.directory + "/new", logger: context.logger)
            generation = Generation(configuration: configuration, watcher: watcher)
        } catch {
            // ConfigurationError names the file, key and problem, never a secret's value.
            context.logger.error(
                "Reload refused; still running the previous configuration", metadata: [LogKey.error: "\(error)"])
            context.state.update {
                $0.reloadProblem = "\(error)"
                $0.changes &+= 1
            }
            context.notifier.ready()
            return
        }
        let current = control.currentConfiguration
        if generation.configuration.queue.database != current.queue.database
            || generation.configuration.log.level != current.log.level
            || generation.configuration.metrics != current.metrics
        {
            context.logger.warning("queue.database, log.level and metrics.listen changes take effect at the next restart")
        }
        context.state.update {
            $0.reloadProblem = nil
            $0.changes &+= 1
        }
        await control.replace(with: generation)
    }

    // MARK: Control

    /// The running inner group and what replaces it; shared by the signal task and the generation runner.
    final class Control: Sendable {
        private struct State {
            var group: ServiceGroup?
            var current: OutboxConfiguration
            var pending: Generation?
            var stopping = false
        }

        private let state: Mutex<State>

        init(current: OutboxConfiguration) { state = Mutex(State(current: current)) }

        var isStopping: Bool { state.withLock { $0.stopping } }
        var currentConfiguration: OutboxConfiguration { state.withLock { $0.current } }

        /// Records the group about to run; false (and nothing recorded) once stopping. A reload that
        /// arrived while the previous group was stopping stops this one at once (ServiceGroup remembers a
        /// shutdown requested before `run()`), so the newest configuration always ends up running.
        func install(_ group: ServiceGroup, configuration: OutboxConfiguration) async -> Bool {
            let (installed, supersededAlready) = state.withLock { state -> (Bool, Bool) in
                guard !state.stopping else { return (false, false) }
                state.group = group
                state.current = configuration
                return (true, state.pending != nil)
            }
            if supersededAlready { await group.triggerGracefulShutdown() }
            return installed
        }

        func takePending() -> Generation? {
            state.withLock { state in
                defer { state.pending = nil }
                return state.stopping ? nil : state.pending
            }
        }

        /// Queues `generation` (a newer reload supersedes one not yet started) and stops the running group.
        func replace(with generation: Generation) async {
            let group = state.withLock { state -> ServiceGroup? in
                state.pending?.watcher.stop()
                state.pending = generation
                return state.group
            }
            await group?.triggerGracefulShutdown()
        }

        /// Graceful shutdown of the whole daemon: stop the running group, start no other.
        func stop() async {
            let group = state.withLock { state -> ServiceGroup? in
                state.stopping = true
                state.pending?.watcher.stop()
                state.pending = nil
                return state.group
            }
            await group?.triggerGracefulShutdown()
        }
    }
}
