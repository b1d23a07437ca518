import Glibc
import Logging
import OutboxConfig
import OutboxCore
import OutboxDelivery
import OutboxStore
import ServiceLifecycle

/// Moves messages from `<spool>/new` into the queue: read, parse, commit, then unlink.
///
/// A file is only removed after its message is committed, and the spool name is unique in the
/// queue, so a crash at any point costs at most a repeated (and ignored) insert. A file that cannot
/// be a message goes to `<spool>/failed/NAME` with `NAME.error` holding the reason; a file that
/// cannot be queued *now* (database busy, disk full) stays where it is for the next scan.
/// All file work runs on the actor's own serial queue.
actor SpoolIntake: Service {
    private let executor = DedicatedQueueExecutor(label: "outbox.spool.intake")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let spool: SpoolSettings
    private let store: QueueStore
    private let watcher: SpoolWatcher
    private let doorbell: Doorbell
    private let state: DaemonState
    private let logger: Logger
    private let defaultSender: EmailAddress?
    private let hostname: String
    private let now: @Sendable () -> UnixTime

    init(spool: SpoolSettings, defaultSender: EmailAddress?, hostname: String, store: QueueStore,
         watcher: SpoolWatcher, doorbell: Doorbell, state: DaemonState, logger: Logger,
         now: @escaping @Sendable () -> UnixTime) {
        self.spool = spool
        self.defaultSender = defaultSender
        self.hostname = hostname
        self.store = store
        self.watcher = watcher
        self.doorbell = doorbell
        self.state = state
        self.logger = logger
        self.now = now
    }

    var newDirectory: String { spool.directory + "/new" }
    var failedDirectory: String { spool.directory + "/failed" }

    /// How often a paused intake (the queue cannot be written, e.g. disk full) tries again.
    static let pausedRetryInterval: Duration = .seconds(2)

    func run() async throws {
        await scanUntilWritable()  // whatever arrived while the daemon was down
        for await _ in watcher.events(rescanInterval: spool.rescanInterval).cancelOnGracefulShutdown() {
            await scanUntilWritable()
        }
        watcher.stop()
    }

    /// Scans; while the queue cannot be written, scans again every ``pausedRetryInterval`` rather
    /// than waiting for the next file or the periodic rescan, so intake resumes soon after space returns.
    private func scanUntilWritable() async {
        await scan()
        while state.snapshot.intakeProblem != nil && !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.pausedRetryInterval) }
            await scan()
        }
    }

    /// Takes every complete file in `new/`, oldest name first; stops at the first file the queue
    /// cannot take (the rest would fail alike, and stay in `new/` for the next scan).
    func scan() async {
        state.update { $0.intakeHeartbeat = .now }
        let names = listNew()
        if names.isEmpty && state.snapshot.intakeProblem != nil {  // nothing waits: nothing is paused
            state.update {
                $0.intakeProblem = nil
                $0.changes &+= 1
            }
        }
        for name in names {
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            guard await take(name) else { return }
        }
    }

    private func listNew() -> [String] {
        guard let dir = opendir(newDirectory) else {
            logger.error("Cannot read the spool directory", metadata: ["outbox.path": "\(newDirectory)", "error": "\(String(cString: strerror(errno)))"])
            return []
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." || name.hasPrefix(".") { continue }
            names.append(name)
        }
        return names.sorted()
    }

    /// - Returns: false when the queue could not be written (the file stays in `new/`).
    private func take(_ name: String) async -> Bool {
        var logger = logger
        logger[metadataKey: "outbox.spool_file"] = "\(name)"
        let path = newDirectory + "/" + name
        let bytes: [UInt8]
        switch readSpoolFile(path) {
        case .vanished:
            let reason = "the file vanished from new/ before it could be read (a producer must not remove or rename it once in new/)"
            quarantine(name, reason: reason, logger: logger)
            return true
        case .rejected(let reason):
            quarantine(name, reason: reason, logger: logger)
            return true
        case .content(let content):
            bytes = content
        }

        let message: IncomingMessage
        do {
            message = try IncomingMessage(
                spoolFileNamed: name, content: bytes,
                context: .init(defaultSender: defaultSender, hostname: hostname, now: now(), uniqueToken: Self.uniqueToken(now: now())))
        } catch {
            quarantine(name, reason: error.reason, logger: logger)
            return true
        }

        do {
            let result = try await store.enqueue(message, spoolName: name, now: now())
            unlink(path)
            if state.snapshot.intakeProblem != nil {
                logger.notice("Intake resumed: the queue accepts messages again")
            }
            state.update {
                $0.changes &+= 1
                $0.intakeProblem = nil
            }
            doorbell.ring()
            if case .inserted(let id) = result {
                logger.info("Message queued", metadata: [
                    "outbox.queue_id": "\(id)", "outbox.sender": "\(message.envelope.sender)",
                    "outbox.recipients": "\(message.envelope.recipients.count)", "outbox.size": "\(message.content.bytes.count)",
                ])
            } else {
                logger.notice("Spool file was already queued; removed it", metadata: ["outbox.queue_id": "\(result.queueID)"])
            }
            return true
        } catch {
            // Not the message's fault: keep the file and try again on the next scan.
            let problem = "cannot write to the queue: \(error)"
            if state.snapshot.intakeProblem != problem {
                logger.error("Intake paused: cannot write to the queue; the spool file is kept", metadata: ["error": "\(error)"])
            }
            state.update {
                if $0.intakeProblem != problem { $0.changes &+= 1 }  // STATUS shows the pause
                $0.intakeProblem = problem
            }
            return false
        }
    }

    private enum ReadResult {
        case content([UInt8])
        case rejected(String)
        case vanished
    }

    /// Opens without following symlinks or blocking on FIFOs, and refuses anything that is not a
    /// regular file or is too large.
    private func readSpoolFile(_ path: String) -> ReadResult {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return .vanished }
            if code == ELOOP { return .rejected("a symbolic link in new/ (never followed); producers must rename a regular file into new/") }
            return .rejected("cannot open: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .rejected("cannot stat: \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            return .rejected("not a regular file (a directory, FIFO or device in new/)")
        }
        guard info.st_size <= spool.maxMessageSize else {
            return .rejected("the message is \(info.st_size) bytes, over spool.max_message_size (\(spool.maxMessageSize))")
        }
        var content = [UInt8](repeating: 0, count: Int(info.st_size))
        var offset = 0
        while offset < content.count {
            let n = content.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return .rejected("read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            offset += n
        }
        guard offset == content.count else {
            return .rejected(
                "the file shrank from \(content.count) to \(offset) bytes while being read (a producer must not change it once in new/)")
        }
        return .content(content)
    }

    /// Copies `new/NAME` to `failed/NAME`, writes `failed/NAME.error` (one line), removes
    /// `new/NAME` (see ``SpoolQuarantine``).
    private func quarantine(_ name: String, reason: String, logger: Logger) {
        let quarantine = SpoolQuarantine(newDirectory: newDirectory, failedDirectory: failedDirectory)
        let line: String
        do {
            line = try quarantine.quarantine(name, reason: reason.printableExcerptLine)
        } catch {
            logger.error("Cannot move a rejected spool file to failed/", metadata: ["error": "\(error)"])
            return
        }
        state.update {
            $0.quarantined += 1
            $0.changes &+= 1
        }
        logger.warning("Spool file rejected and moved to failed/", metadata: ["outbox.reason": "\(line)"])
    }

    /// A Message-ID left part: the time and 64 random bits, both in base 36.
    private static func uniqueToken(now: UnixTime) -> String {
        "\(String(now.milliseconds, radix: 36)).\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
    }
}

extension Error {
    fileprivate var reason: String {
        (self as? IncomingMessage.Rejection)?.reason ?? "\(self)"
    }
}

extension String {
    /// One line, control characters replaced, at most 300 characters.
    fileprivate var printableExcerptLine: String {
        let cleaned = String(String.UnicodeScalarView(unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
        return cleaned.count > 300 ? String(cleaned.prefix(297)) + "..." : cleaned
    }
}
