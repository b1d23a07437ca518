import Glibc
public import Logging
public import OutboxConfig
import OutboxCore
import OutboxDelivery
import OutboxStore
import ServiceLifecycle
import Systemd
import UnixSignals

/// `outboxd` itself: opens the queue, watches the spool, and runs intake, delivery and status
/// reporting as one `ServiceGroup` until SIGTERM/SIGINT.
public enum Daemon {
    /// Why the daemon could not start; printed as one line.
    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs until a graceful shutdown completes. Throws only for startup problems.
    public static func run(configuration: OutboxConfiguration, logger: Logger) async throws {
        let notifier = Notifier()
        let store: QueueStore
        do {
            store = try QueueStore(path: configuration.queue.database)
        } catch {
            throw StartupError(description: "cannot open the queue \(configuration.queue.database): \(error)")
        }
        let spool = configuration.spool.directory
        for sub in ["", "/tmp", "/new", "/failed"] {
            let path = spool + sub
            if mkdir(path, sub == "" ? 0o750 : 0o770) != 0 && errno != EEXIST {
                throw StartupError(description: "cannot create \(path): \(String(cString: strerror(errno)))")
            }
        }
        let owner = HostIdentity.leaseOwner(random: UInt64.random(in: 0...UInt64.max))
        let recovered = try await store.recoverLeases { HostIdentity.isGone($0, currentOwner: owner) }
        if recovered > 0 {
            logger.notice("Returned messages left in flight by a stopped daemon to the queue", metadata: ["outbox.count": "\(recovered)"])
        }
        let watcher: SpoolWatcher
        do {
            watcher = try SpoolWatcher(directory: spool + "/new")
        } catch {
            throw StartupError(description: "\(error)")
        }

        let now: @Sendable () -> UnixTime = {
            var time = timespec()
            clock_gettime(CLOCK_REALTIME, &time)
            return UnixTime(milliseconds: Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000)
        }
        let state = DaemonState()
        let doorbell = Doorbell()
        let transport = CurlSMTPTransport(
            settings: configuration.smtp, workers: configuration.delivery.workers,
            hostname: HostIdentity.fullyQualifiedName)

        let intake = SpoolIntake(
            spool: configuration.spool, defaultSender: configuration.smtp.from,
            hostname: HostIdentity.fullyQualifiedName, store: store, watcher: watcher, doorbell: doorbell,
            state: state, logger: logger, now: now)
        let dispatcher = DeliveryDispatcher(
            smtp: configuration.smtp, delivery: configuration.delivery, transport: transport, store: store,
            doorbell: doorbell, state: state, logger: logger, owner: owner,
            leaseDuration: .seconds(600), now: now, random: { Double.random(in: 0..<1) })
        let status = StatusReporter(
            destination: transport.destination, smtpEnabled: configuration.smtp.enabled, store: store,
            state: state, notifier: notifier, logger: logger, now: now)
        let hangup = HangupNotice(logger: logger)

        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: hangup),
                .init(service: intake),
                .init(service: dispatcher),
                .init(service: QueueChangeWatcher(databasePath: configuration.queue.database, doorbell: doorbell, state: state, logger: logger)),
                .init(service: status),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(20)
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: groupConfiguration).run()
        logger.notice("Stopped")
    }
}

/// SIGHUP would otherwise terminate the daemon. Reloading the configuration in place is
/// issue 7's work; until then a HUP is logged and ignored, and a restart applies a new config.
struct HangupNotice: Service {
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            logger.warning("SIGHUP received: reloading is not supported yet; restart outboxd to apply a new configuration")
        }
    }
}
