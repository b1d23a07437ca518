import ArgumentParser
import CoreMetrics
import Logging
import OutboxCore
import OutboxMetrics
import Prometheus
import OutboxConfig
import OutboxDaemon
import OutboxSystem
import Systemd

#if canImport(Glibc)
import Glibc
#endif

/// `outboxd`: the outbound mail queue daemon. Reads the configuration, sets up logging, and runs
/// the daemon's services until SIGTERM.
@main
struct Outboxd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outboxd",
        abstract: "Queue outbound mail durably and deliver it over SMTP with XNAT's mail settings.",
        discussion: """
            Runs in the foreground (systemd Type=notify). Producers drop messages into \
            <spool>/new; `outbox` inspects and manages the queue.

            Example:
              outboxd --config /etc/outbox/outbox.yaml
            """,
        version: OutboxVersion.current)

    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "path"))
    var config: String = OutboxConfiguration.defaultPath

    func run() async throws {
        limitMallocArenas()
        let configuration: OutboxConfiguration
        do {
            configuration = try await OutboxConfiguration.load(file: config, requiringSecrets: true)
            try OutboxConfiguration.requirePrivatePassword(file: config)
        } catch {
            StandardError.writeLine("outboxd: \(error)")
            throw ExitCode(ExitStatus.config.rawValue)
        }
        let level = Logger.Level(rawValue: configuration.log.level) ?? .info
        // Under systemd stderr is a journal stream: write entries with fields instead of plain lines.
        if JournalStream.standardErrorIsJournal() {
            LoggingSystem.bootstrap { label in
                var handler = JournalLogHandler(label: label, identifier: "outboxd")
                handler.logLevel = level
                return handler
            }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        let logger = Logger(label: "outboxd")
        logger.notice("Starting", metadata: [LogKey.version: "\(OutboxVersion.current)", LogKey.config: "\(config)"])
        // One registry for outbox's own series and anything counted through swift-metrics.
        let metrics = OutboxMetrics()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        let path = config
        do {
            try await Daemon.run(configuration: configuration, logger: logger, metrics: metrics) {
                let configuration = try await OutboxConfiguration.load(file: path, requiringSecrets: true)
                try OutboxConfiguration.requirePrivatePassword(file: path)
                return configuration
            }
        } catch {
            logger.critical(error is Daemon.QueueFileLostError ? "Exiting" : "Cannot start", metadata: [LogKey.error: "\(error)"])
            StandardError.writeLine("outboxd: \(error)")
            if (error as? Daemon.StartupError)?.isPermanent == true {
                throw ExitCode(ExitStatus.dataError.rawValue)  // the unit's RestartPreventExitStatus= stops the retries
            }
            throw ExitCode(ExitStatus.tempFail.rawValue)  // systemd's Restart=on-failure tries again
        }
    }
}


/// glibc gives each thread that allocates its own malloc arena (up to 8 per CPU), and the
/// delivery lanes would each keep one mostly empty. Two are plenty for a daemon that waits on
/// sockets and fsync most of the time. (`mallopt` is not in Swift's Glibc module: looked up.)
private func limitMallocArenas() {
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let mArenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }  // RTLD_DEFAULT
    _ = unsafeBitCast(symbol, to: Mallopt.self)(mArenaMax, 2)
}
