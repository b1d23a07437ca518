import Glibc
public import Logging
public import OutboxConfig
import OutboxCore
import OutboxDelivery
import OutboxListener
public import OutboxMetrics
import OutboxStore
import OutboxSystem
import ServiceLifecycle
import Systemd
import UnixSignals

/// `outboxd` itself: opens the queue, watches the spool, and runs intake, delivery and status
/// reporting as one `ServiceGroup` until SIGTERM/SIGINT.
public enum Daemon {
    /// Why the daemon could not start; printed as one line.
    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
        /// True when starting again cannot help (a damaged queue file): outboxd exits with
        /// EX_DATAERR, which the unit's RestartPreventExitStatus= keeps systemd from retrying.
        public var isPermanent = false
    }

    /// The queue file was lost while running; unsent mail was written back to the spool. outboxd
    /// exits with EX_TEMPFAIL so systemd starts it again on a fresh file.
    public struct QueueFileLostError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs until a graceful shutdown completes. Throws only for startup problems.
    /// - Parameter metrics: the series served on `metrics.listen` (outboxd also makes its registry
    ///   swift-metrics' backend).
    /// - Parameter reloadConfiguration: re-reads the configuration on SIGHUP (`systemctl reload`);
    ///   nil: SIGHUP is logged and ignored.
    public static func run(
        configuration: OutboxConfiguration, logger: Logger, metrics: OutboxMetrics = OutboxMetrics(),
        reloadConfiguration: (@Sendable () async throws -> OutboxConfiguration)? = nil
    ) async throws {
        let notifier = Notifier()
        let path = configuration.queue.database
        let store: QueueStore
        do {
            // A damaged file is refused before anything writes to it (read-only). The whole file is
            // read only when it may have changed since a clean stop: see QueueStore.verifyIntegrity.
            if let check = try await QueueStore.verifyIntegrity(path: path, withoutRecord: .wholeFile) {
                logger.notice("Checked the queue file", metadata: [
                    LogKey.check: "\(check.scope.rawValue)", LogKey.checkReason: "\(check.reason)",
                    LogKey.durationMilliseconds: "\(check.duration.wholeMilliseconds)",
                ])
            }
        } catch {
            throw StartupError(
                description: "refusing to start: \(error); the file was not modified (restore it from a backup or move it aside)",
                isPermanent: true)
        }
        do {
            try await QueueStore.forgetCleanStop(path: path)
            // Opening migrates an older schema, which rewrites rows (v5 drops sent bodies).
            notifier.extendTimeout(by: .seconds(600), status: "opening the queue (upgrading its schema if needed)")
            store = try QueueStore(path: path)
        } catch {
            throw StartupError(description: "cannot open the queue \(path): \(error)")
        }
        do {
            // Once per file created before outboxd set auto_vacuum: one VACUUM (see QueueStore).
            let clock = ContinuousClock()
            let started = clock.now
            if try await !store.usesIncrementalVacuum {
                notifier.extendTimeout(
                    by: .seconds(1800), status: "converting the queue file to incremental vacuum (once)")
            }
            if try await store.convertToIncrementalVacuum() {
                logger.notice("Converted the queue file to incremental vacuum", metadata: [
                    LogKey.durationMilliseconds: "\((clock.now - started).wholeMilliseconds)",
                ])
            }
        } catch {
            logger.warning("Cannot convert the queue file to incremental vacuum; freed space stays in the file",
                           metadata: [LogKey.error: "\(error)"])
        }
        let spool = configuration.spool.directory
        for sub in ["", "/tmp", "/new", "/failed"] {
            let path = spool + sub
            if mkdir(path, sub == "" ? 0o750 : 0o770) != 0 && errno != EEXIST {
                throw StartupError(description: "cannot create \(path): \(String(cString: strerror(errno)))")
            }
        }
        let owner = HostIdentity.leaseOwner(random: UInt64.random(in: 0...UInt64.max))
        let leaseOwners = LeaseOwners(daemon: owner)
        let recovered = try await store.recoverLeases { leaseOwners.status(of: $0) }
        if recovered.released > 0 {
            logger.notice("Returned messages left in flight by a stopped daemon to the queue",
                          metadata: [LogKey.count: "\(recovered.released)"])
        }
        for id in recovered.held {
            // Poison-message containment: this message was being sent at two unclean stops in a row.
            logger.error("Message held: it was being sent at each of the last two unclean stops; release it to retry",
                         metadata: [LogKey.queueID: "\(id)", LogKey.reason: "\(QueueStore.poisonHoldReason)"])
        }
        let fileGuard: QueueFileGuard
        do {
            fileGuard = try QueueFileGuard(path: path)
        } catch {
            throw StartupError(description: "\(error)")
        }
        let watcher: SpoolWatcher
        do {
            watcher = try SpoolWatcher(directory: spool + "/new", logger: logger)
        } catch {
            throw StartupError(description: "\(error)")
        }

        let now: @Sendable () -> UnixTime = { .current }
        let state = DaemonState(metrics: metrics)
        let doorbell = Doorbell()
        let context = ConfigurationReloader.Context(
            store: store, doorbell: doorbell, state: state, notifier: notifier, logger: logger, owner: owner, leaseOwners: leaseOwners,
            watchdog: notifier.watchdogInterval.map { WatchdogPolicy(interval: $0) }, now: now)
        // Intake and delivery; rebuilt with the new configuration on SIGHUP.
        let services = ConfigurationReloader(
            context: context, first: .init(configuration: configuration, watcher: watcher), load: reloadConfiguration,
            hangups: await UnixSignalsSequence(trapping: .sighup))
        // The SMTP listener (issue 12): systemd's sockets (outboxd.socket), else listen.addresses,
        // else nothing listens.
        let passedSockets = ListenFDs.take()
        var listenerServices: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if configuration.listen != nil || !passedSockets.isEmpty {
            let settings = configuration.listen ?? ListenSettings(maxMessageSize: configuration.spool.maxMessageSize)
            let intake = SMTPIntake(
                store: store, hostname: HostIdentity.fullyQualifiedName, maxMessageSize: settings.maxMessageSize,
                logger: logger, now: now, onQueued: { [doorbell, state] in
                    doorbell.ring()
                    state.noteChange()
                })
            listenerServices.append(.init(service: SMTPListener(
                settings: settings, passedSockets: passedSockets, intake: intake,
                hostname: HostIdentity.fullyQualifiedName, logger: logger,
                onListening: { [state] names in
                    state.update {
                        $0.listening = names
                        $0.changes &+= 1
                    }
                })))
        }
        let status = StatusReporter(
            store: store, state: state, notifier: notifier, logger: logger, now: now, awaitsListener: !listenerServices.isEmpty)

        var serviceList: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: services)] + listenerServices + [
            // Admin actions through the CLI (hold, release, flush, …) take effect at once.
            // Its failure (the queue file is lost) shuts the group down gracefully: sends in flight finish.
            .init(
                service: QueueChangeWatcher(
                    databasePath: configuration.queue.database, doorbell: doorbell, state: state, logger: logger,
                    fileGuard: fileGuard, notifier: notifier),
                failureTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let endpoint = configuration.metrics.listen {
            serviceList.append(.init(service: MetricsServer(
                endpoint: endpoint, metrics: metrics, store: store, state: state, logger: logger, now: now)))
        }
        // Last, so that it stops first: STOPPING=1 leaves before anything else winds down.
        serviceList.append(.init(service: status))
        var groupConfiguration = ServiceGroupConfiguration(
            services: serviceList,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(20)
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch where state.snapshot.queueFileLost != nil {
            // Handled below.
        }
        if let lost = state.snapshot.queueFileLost {
            let rescue = await QueueFileRescue.writeBack(store: store, spool: spool, logger: logger)
            logger.critical("Unsent mail from the lost queue file was written back to the spool; exiting for a restart", metadata: [
                LogKey.error: "\(lost)", LogKey.requeued: "\(rescue.requeued)", LogKey.heldToFailed: "\(rescue.held)",
                LogKey.rescueFailures: "\(rescue.failures.count)",
            ])
            for failure in rescue.failures {
                logger.critical("Cannot write a message back to the spool", metadata: [LogKey.error: "\(failure)"])
            }
            try? await store.close()
            throw QueueFileLostError(
                description: "\(lost); \(rescue.requeued) unsent messages written back to spool/new, \(rescue.held) held ones to spool/failed"
                    + (rescue.failures.isEmpty ? "" : ", \(rescue.failures.count) could not be written (see the log)"))
        }
        // A clean stop: with every connection closed (and the write-ahead log checkpointed away),
        // record the file so the next start can skip the whole-file check.
        do {
            try await store.close()
            if try await !QueueStore.recordCleanStop(path: path) {
                logger.notice("The queue is still open elsewhere; the next start checks the whole file")
            }
        } catch {
            logger.warning("Cannot record the clean stop; the next start checks the whole file", metadata: [LogKey.error: "\(error)"])
        }
        logger.notice("Stopped")
    }
}
