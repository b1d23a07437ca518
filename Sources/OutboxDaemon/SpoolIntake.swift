import Glibc
import Logging
import OutboxConfig
import OutboxCore
import OutboxDelivery
import OutboxMetrics
import OutboxStore
import OutboxSystem
import Prometheus
import ServiceLifecycle

/// Moves messages from `<spool>/new` into the queue: read and parse a batch, commit it in one
/// transaction, ring the doorbell, then unlink its files.
///
/// A batch is whatever is ready when the intake looks (up to ``batchFiles`` files or ``batchBytes``
/// of content): a lone file is committed at once, a burst shares one fsync per batch. A file is only
/// removed after its message is committed, and the spool name is unique in the queue, so a crash at
/// any point costs at most a repeated (and ignored) insert. A file that cannot be a message goes to
/// `<spool>/failed/NAME` with `NAME.error` holding the reason, before its batch's transaction, so it
/// never holds the others back; a batch that cannot be queued *now* (database busy, disk full) stays
/// where it is for the next scan. Reading, parsing and quarantining run on the actor's own serial
/// queue, unlinking on the ``SpoolRemover``'s, while the next batch is read.
actor SpoolIntake: Service {
    private let executor = DedicatedQueueExecutor(label: "outbox.spool.intake")
    private let remover = SpoolRemover()
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
    /// Files not known to be complete (created in place, or found without an event), by name: what
    /// they looked like when first seen so, and when (see ``settled(_:for:now:)``).
    private var observed: [SpoolName: Observation] = [:]
    /// Set by a scan that left a file to settle: the intake looks again soon, without an event.
    private var settling = false
    /// Names of files a writer left open for ``abandonedWriteAfter`` that were taken anyway (logged once).
    private var warnedAbandoned: Set<SpoolName> = []
    /// Spool files found already queued (a removal that failed): reported once per name.
    private var alreadyQueuedReported: Set<String> = []
    /// Files taken (queued, or copied to failed/) that could not be removed from `new/`, by name:
    /// skipped at every scan, so never queued twice, and removed once that works (see ``KeptSpoolFile``).
    /// Loaded from the queue at the first scan; nil until then.
    private var kept: [SpoolName: KeptSpoolFile]?
    /// Kept files found by the quarantine (a synchronous step), to be written at the end of the batch.
    private var keptToRecord: [KeptSpoolFile] = []
    /// When the kept files are next tried for removal (once per rescan interval).
    private var keptRetryAt = ContinuousClock.now
    /// Names of files created in place that a writer still held open after ``abandonedWriteAfter`` (warned once).
    private var warnedStillOpen: Set<SpoolName> = []
    /// Set once the kernel refused to say whether a file is open for writing (logged once).
    private var writerProbeRefused = false

    private struct Observation {
        var identity: FileIdentity
        var since: ContinuousClock.Instant
    }

    /// What changes when a file is written to or replaced.
    private struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int

        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modifiedSeconds = Int(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
        }
    }

    /// How long a file created in place must stay unchanged after its writer closed it (or, found
    /// without an event, at all) before it is read.
    static let settleTime: Duration = .seconds(1)
    /// A file created in place whose writer never closed it is taken once it has not changed for
    /// this long (a producer that hung, or a close event lost to an inotify overflow) — unless the
    /// kernel says a writer still has it open (``SpoolWriterProbe``): then it is never taken, and
    /// reported once after this long.
    static let abandonedWriteAfter: Duration = .seconds(600)

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
        await scanWhileSettling()
        for await _ in watcher.events(rescanInterval: spool.rescanInterval).cancelOnGracefulShutdown() {
            await scanUntilWritable()
            await scanWhileSettling()
        }
        watcher.stop()
    }

    /// While a scan left files to settle, looks again every quarter of ``settleTime``.
    private func scanWhileSettling() async {
        while settling && state.snapshot.queueFileLost == nil && !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.settleTime / 4) }
            await scanUntilWritable()
        }
    }

    /// Scans; while the queue cannot be written, scans again every ``pausedRetryInterval`` rather
    /// than waiting for the next file or the periodic rescan, so intake resumes soon after space returns.
    private func scanUntilWritable() async {
        await scan()
        while state.snapshot.intakeProblem != nil && state.snapshot.queueFileLost == nil && !Task.isCancelled
            && !Task.isShuttingDownGracefully
        {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.pausedRetryInterval) }
            await scan()
        }
    }

    /// At most this many spool files are taken into one transaction…
    static let batchFiles = 256
    /// …and, once their content reaches this many bytes, no more (large messages make small batches).
    static let batchBytes = 4 * 1024 * 1024

    /// Takes every complete file in `new/`, oldest name first, in batches: each batch is what is
    /// ready now (never waiting for more to arrive), parsed first — unusable files are quarantined
    /// one by one and never reach the transaction — then committed in one transaction, and only then
    /// are its files removed. Stops at the first batch the queue cannot take (the rest would fail
    /// alike, and stay in `new/` for the next scan).
    func scan() async {
        state.update { $0.intakeHeartbeat = .now }
        guard await tendKeptFiles() else { return }
        var waiting = completeFiles()[...]
        if waiting.isEmpty && state.snapshot.intakeProblem != nil {  // nothing waits: nothing is paused
            state.update {
                $0.intakeProblem = nil
                $0.changes &+= 1
            }
        }
        let remover = remover
        await withTaskGroup(of: [Unremoved].self) { removals in
            while !waiting.isEmpty {
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                // A paused intake tries one file: a batch that no longer fits must not keep a nearly full
                // disk from taking what still fits. The first success lifts the pause and the batches grow.
                let limit = state.snapshot.intakeProblem == nil ? Self.batchFiles : 1
                let batch = prepareBatch(from: &waiting, limit: limit)
                await recordKept()  // files rejected to failed/ that could not be removed
                guard let committed = await commit(batch) else { break }
                // The previous batch's files are gone before this one's removal starts: one batch in flight.
                if let unremoved = await removals.next() { await keep(unremoved) }
                removals.addTask {
                    let failures = await remover.remove(committed.map(\.path))
                    guard !failures.isEmpty else { return [] }
                    let ids = Dictionary(committed.map { ($0.path, $0.id) }, uniquingKeysWith: { first, _ in first })
                    return failures.map { Unremoved(failure: $0, queueID: ids[$0.path]) }
                }
                state.update { $0.intakeHeartbeat = .now }
            }
            // The task group waits for the last removal: the next scan never sees a committed file
            // unless it is kept.
            for await unremoved in removals { await keep(unremoved) }
        }
    }

    /// A committed file the remover could not remove.
    private struct Unremoved: Sendable {
        var failure: SpoolRemover.Failure
        var queueID: QueueID?
    }

    // MARK: - Kept files

    /// Loads the kept files at the first scan; then drops those gone from `new/` (removed, or
    /// replaced by another file of the same name) and, once per rescan interval, tries to remove the
    /// others again. - Returns: false when the kept files could not be read (nothing is taken then:
    /// a kept file must never be queued twice).
    private func tendKeptFiles() async -> Bool {
        if kept == nil {
            do {
                kept = Dictionary(
                    try await store.keptSpoolFiles().map { (SpoolName(bytes: $0.spoolName), $0) },
                    uniquingKeysWith: { first, _ in first })
            } catch {
                let problem = "cannot read the queue: \(error)"
                if state.snapshot.intakeProblem != problem {
                    logger.error("Intake paused: cannot read the kept spool files from the queue",
                                 metadata: [LogKey.error: "\(error)"])
                    state.update {
                        $0.intakeProblem = problem
                        $0.changes &+= 1
                    }
                }
                return false
            }
        }
        guard let files = kept, !files.isEmpty else {
            countKept()
            return true
        }
        var released: [SpoolName] = []
        var present: [SpoolName] = []
        for (name, file) in files {
            var info = stat()
            if lstat(name.path(in: newDirectory), &info) == 0, UInt64(info.st_dev) == file.device,
                UInt64(info.st_ino) == file.inode
            {
                present.append(name)
            } else {
                released.append(name)
            }
        }
        if ContinuousClock.now >= keptRetryAt {
            keptRetryAt = ContinuousClock.now + spool.rescanInterval
            // On this actor's own queue: a few unlinks, once per rescan, not worth the remover's lanes.
            for name in present where unlink(name.path(in: newDirectory)) == 0 || errno == ENOENT {
                logger.notice("Kept spool file removed at last", metadata: [LogKey.spoolFile: "\(name.escaped)"])
                released.append(name)
            }
        }
        if !released.isEmpty {
            do {
                try await store.releaseKeptSpoolFiles(named: released.map(\.bytes))
                for name in released { kept?[name] = nil }
            } catch {
                logger.error("Cannot drop kept spool files from the queue; tried again at the next scan",
                             metadata: [LogKey.error: "\(error)", LogKey.files: "\(released.count)"])
            }
        }
        countKept()
        return true
    }

    /// Records committed files that could not be removed: warned once each, kept in the queue,
    /// skipped from now on (so a purge of their messages cannot let them be queued again).
    private func keep(_ unremoved: [Unremoved]) async {
        for item in unremoved {
            let name = SpoolName(bytes: Array(item.failure.path.utf8.dropFirst(newDirectory.utf8.count + 1)))
            var info = stat()
            guard lstat(name.path(in: newDirectory), &info) == 0 else { continue }  // gone after all
            let file = KeptSpoolFile(
                spoolName: name.bytes, device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
                messageID: item.queueID, firstSeen: now())
            kept?[name] = file
            keptToRecord.append(file)
            logger.warning(
                "Cannot remove a queued spool file from new/; it is kept there, skipped, and never queued again",
                metadata: [
                    LogKey.spoolFile: "\(name.escaped)", LogKey.queueID: "\(item.queueID.map { "\($0)" } ?? "-")",
                    LogKey.error: "\(item.failure.reason)",
                ])
        }
        await recordKept()
    }

    /// Writes the kept files found since the last call to the queue.
    private func recordKept() async {
        guard !keptToRecord.isEmpty else { return }
        let files = keptToRecord
        keptToRecord = []
        do {
            try await store.keepSpoolFiles(files)
        } catch {
            // Still skipped by this intake; after a restart each is taken (and reported) once more.
            logger.error("Cannot record kept spool files in the queue",
                         metadata: [LogKey.error: "\(error)", LogKey.files: "\(files.count)"])
        }
        countKept()
    }

    /// Tells STATUS how many files are kept.
    private func countKept() {
        let count = kept?.count ?? 0
        guard state.snapshot.keptSpoolFiles != count else { return }
        state.update {
            $0.keptSpoolFiles = count
            $0.changes &+= 1
        }
    }

    /// The entries of `new/`, names as bytes, in byte order; hidden names (a leading dot) are not
    /// for intake. Entries that could not be moved to `failed/` and have not changed since are
    /// left out, so they are reported once and hold nothing back.
    private func listNew() -> [SpoolName] {
        guard let dir = opendir(newDirectory) else {
            logger.error("Cannot read the spool directory", metadata: [LogKey.path: "\(newDirectory)", LogKey.error: "\(String(cString: strerror(errno)))"])
            return []
        }
        defer { closedir(dir) }
        var names: [SpoolName] = []
        var present = Set<SpoolName>()
        if ContinuousClock.now >= stuckRetryAt {  // failed/ may be writable again (disk space back)
            stuck = [:]
            stuckRetryAt = ContinuousClock.now + Self.stuckRetryInterval
        }
        while let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if bytes.first == UInt8(ascii: ".") { continue }
            let name = SpoolName(bytes: bytes)
            if kept?[name] != nil { continue }  // taken before; its identity was checked at this scan's start
            if let identity = stuck[name] {
                present.insert(name)
                if identity == Self.identity(of: name.path(in: newDirectory)) { continue }
            }
            names.append(name)
        }
        stuck = stuck.filter { present.contains($0.key) }  // gone from new/: forgotten
        return names.sorted()
    }

    /// Entries of `new/` that could not be moved to `failed/`, with what they were then (inode,
    /// change time, size): skipped until they change (a producer's chmod), for at most
    /// ``stuckRetryInterval`` (then tried, and reported, once more), or until the daemon restarts.
    private var stuck: [SpoolName: EntryIdentity] = [:]
    private var stuckRetryAt = ContinuousClock.now + SpoolIntake.stuckRetryInterval
    static let stuckRetryInterval: Duration = .seconds(3_600)

    struct EntryIdentity: Equatable {
        var inode: UInt64
        var changed: Int
        var changedNanoseconds: Int
        var size: Int
    }

    private static func identity(of path: [CChar]) -> EntryIdentity? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return EntryIdentity(
            inode: UInt64(info.st_ino), changed: Int(info.st_ctim.tv_sec), changedNanoseconds: Int(info.st_ctim.tv_nsec),
            size: Int(info.st_size))
    }

    /// The names in `new/` that are complete: renamed in (at once), or created in place, closed by
    /// their writer and unchanged for ``settleTime`` (files found without an event — present at
    /// startup, or after lost events — settle too). A file still open for writing is never taken,
    /// so it is never read short, unlinked or quarantined under its writer.
    private func completeFiles() -> [SpoolName] {
        let arrivals = watcher.arrivals()  // before the listing: a name missing from it is gone
        let names = listNew()
        let present = Set(names)
        // The watcher knows names as inotify gave them, decoded as SpoolWatcher decodes them.
        let presentKeys = Set(names.map(\.watcherKey))
        watcher.forget(arrivals.filter { !presentKeys.contains($0.key) }.map { ($0.key, $0.value.sequence) })
        observed = observed.filter { present.contains($0.key) }
        warnedAbandoned.formIntersection(present)
        warnedStillOpen.formIntersection(present)
        alreadyQueuedReported.formIntersection(names.compactMap(\.text))
        settling = false
        let clock = ContinuousClock.now
        var complete: [SpoolName] = []
        for name in names {
            switch arrivals[name.watcherKey]?.arrival {
            case .renamed:
                complete.append(name)
            case .writing:
                switch probeWriter(name) {
                case .writerOpen:
                    warnIfStillOpen(name, now: clock)  // never taken while open; its close event wakes us
                case .noWriter:
                    // Closed, and the close event not seen yet (or lost): settles like a closed file.
                    if settled(name, for: Self.settleTime, now: clock) {
                        complete.append(name)
                    } else {
                        settling = true
                    }
                case .unknown:
                    // The close event wakes us; only a writer silent for very long is not waited for.
                    guard settled(name, for: Self.abandonedWriteAfter, now: clock) else { continue }
                    if warnedAbandoned.insert(name).inserted {
                        logger.warning("Taking a spool file whose writer has not closed it for a long time",
                                       metadata: [LogKey.spoolFile: "\(name.escaped)", LogKey.unchangedFor: "\(Self.abandonedWriteAfter)"])
                    }
                    complete.append(name)
                }
            case .closed, nil:
                guard settled(name, for: Self.settleTime, now: clock) else {
                    settling = true
                    continue
                }
                // Settled, yet a writer may hold it open and write again (a producer that pauses; a file
                // found at startup): then its close event wakes us.
                if probeWriter(name) != .writerOpen {
                    complete.append(name)
                } else {
                    warnIfStillOpen(name, now: clock)
                }
            }
        }
        return complete
    }

    /// Says once when a file a writer holds open has not changed for ``abandonedWriteAfter``.
    private func warnIfStillOpen(_ name: SpoolName, now: ContinuousClock.Instant) {
        guard settled(name, for: Self.abandonedWriteAfter, now: now), warnedStillOpen.insert(name).inserted else {
            return
        }
        logger.warning(
            "A spool file in new/ is still open for writing after a long time; waiting for its writer to close it",
            metadata: [
                LogKey.spoolFile: "\(name.escaped)", LogKey.unchangedFor: "\(Self.abandonedWriteAfter)",
            ])
    }

    /// Asks the kernel whether a writer has the regular file `name` open (``SpoolWriterProbe``);
    /// says once when it will not tell, and the settle time is all there is.
    private func probeWriter(_ name: SpoolName) -> SpoolWriterProbe.Answer {
        let answer = SpoolWriterProbe.probe(name.path(in: newDirectory))
        if case .unknown(let code) = answer, code == EACCES || code == EPERM || code == EINVAL || code == ENOSYS,
            !writerProbeRefused
        {
            writerProbeRefused = true
            logger.notice(
                "The kernel does not say whether spool files created in place are still open for writing; they are taken once closed and unchanged for the settle time",
                metadata: [LogKey.spoolFile: "\(name.escaped)", LogKey.error: "\(String(cString: strerror(code)))",
                           LogKey.settleTime: "\(Self.settleTime)"])
        }
        return answer
    }

    /// True when `name` (not a regular file, or) has looked the same since at least `duration`
    /// ago; records how it looks now otherwise.
    private func settled(_ name: SpoolName, for duration: Duration, now: ContinuousClock.Instant) -> Bool {
        var info = stat()
        guard lstat(name.path(in: newDirectory), &info) == 0 else {
            observed[name] = nil
            return false  // gone: nothing to take
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return true }  // refused by the reader, at once
        let identity = FileIdentity(info)
        if let seen = observed[name], seen.identity == identity {
            return now - seen.since >= duration
        }
        observed[name] = Observation(identity: identity, since: now)
        return false
    }

    /// A spool file read and parsed, waiting for its batch's commit.
    private struct Prepared {
        var name: String
        var message: IncomingMessage
    }

    /// Reads and parses up to `limit` files from the front of `waiting` (fewer once their content
    /// reaches ``batchBytes``), quarantining each one that cannot be a message.
    private func prepareBatch(from waiting: inout ArraySlice<SpoolName>, limit: Int) -> [Prepared] {
        var batch: [Prepared] = []
        var bytes = 0
        var taken = 0
        while let entry = waiting.first, taken < limit, bytes < Self.batchBytes {
            waiting.removeFirst()
            taken += 1
            var logger = logger
            logger[metadataKey: LogKey.spoolFile] = "\(entry.escaped)"
            guard let name = entry.text else {
                quarantine(
                    entry,
                    reason: "the file name is not printable UTF-8 (it holds a control character or invalid bytes); producers must use names like 1732650000.4242.9f3c.json",
                    logger: logger)
                continue
            }
            let content: [UInt8]
            switch readSpoolFile(newDirectory + "/" + name) {
            case .vanished:
                let reason = "the file vanished from new/ before it could be read (a producer must not remove or rename it once in new/)"
                quarantine(entry, reason: reason, logger: logger)
                continue
            case .rejected(let reason):
                quarantine(entry, reason: reason, logger: logger)
                continue
            case .changed:
                // Still being written: leave it where it is, and look again once it has settled.
                logger.debug("Spool file changed while it was read; left in new/ for a later scan")
                observed[entry] = nil
                settling = true
                continue
            case .content(let read):
                content = read
            }
            do {
                let message = try IncomingMessage(
                    spoolFileNamed: name, content: content,
                    context: .init(defaultSender: defaultSender, hostname: hostname, now: now(), uniqueToken: Self.uniqueToken(now: now())))
                batch.append(Prepared(name: name, message: message))
                bytes += content.count
            } catch {
                quarantine(entry, reason: error.reason, logger: logger)
            }
        }
        return batch
    }

    /// Commits `batch` in one transaction and rings the doorbell.
    /// - Returns: the paths of the committed files with their messages' ids, for removal; nil when
    ///   the queue could not be written (every file of the batch stays in `new/`).
    private func commit(_ batch: [Prepared]) async -> [(path: String, id: QueueID)]? {
        guard !batch.isEmpty else { return [] }
        // The queue file is gone: whatever is committed now would be lost; the files stay in new/.
        guard state.snapshot.queueFileLost == nil else { return nil }
        let results: [QueueStore.EnqueueResult]
        do {
            results = try await store.enqueue(
                batch.map { QueueStore.SpoolSubmission(message: $0.message, spoolName: $0.name) }, now: now())
        } catch {
            // Not the messages' fault: keep the files and try again on the next scan.
            let problem = "cannot write to the queue: \(error)"
            if state.snapshot.intakeProblem != problem {
                logger.error("Intake paused: cannot write to the queue; the spool files are kept in new/",
                             metadata: [LogKey.error: "\(error)", LogKey.files: "\(batch.count)"])
            }
            state.update {
                if $0.intakeProblem != problem { $0.changes &+= 1 }  // STATUS shows the pause
                $0.intakeProblem = problem
            }
            return nil
        }
        doorbell.ring()  // at once: an idle worker claims while the files are removed
        if state.snapshot.intakeProblem != nil {
            logger.notice("Intake resumed: the queue accepts messages again")
        }
        state.update {
            $0.changes &+= 1
            $0.intakeProblem = nil
        }
        for (entry, result) in zip(batch, results) {
            var logger = logger
            logger[metadataKey: LogKey.spoolFile] = "\(entry.name)"
            if case .inserted(let id) = result {
                state.metrics.intakeFiles(.queued).increment()
                logger.info("Message queued", metadata: [
                    LogKey.queueID: "\(id)", LogKey.sender: "\(entry.message.envelope.sender)",
                    LogKey.recipients: "\(entry.message.envelope.recipients.count)",
                    LogKey.size: "\(entry.message.content.bytes.count)",
                ])
            } else {
                state.metrics.intakeFiles(.duplicate).increment()
                // A file that cannot be removed (new/ not writable to the daemon) comes back at every
                // scan: said once, never queued again (its spool name is in the queue).
                guard alreadyQueuedReported.insert(entry.name).inserted else { continue }
                logger.notice("Spool file was already queued; removing it", metadata: [LogKey.queueID: "\(result.queueID)"])
            }
        }
        return zip(batch, results).map { (newDirectory + "/" + $0.name, $1.queueID) }
    }

    private enum ReadResult {
        case content([UInt8])
        case rejected(String)
        case vanished
        /// The file changed (size or modification time) while it was read.
        case changed
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
        let content: [UInt8]
        do {
            content = try FileDescriptorIO.readAll(fd, upTo: Int(info.st_size), path: path)
        } catch {
            return .rejected("read failed: \(error.reason)")
        }
        // A file that changed while it was read (a producer still writing) is never taken short.
        var after = stat()
        guard content.count == Int(info.st_size), fstat(fd, &after) == 0, FileIdentity(after) == FileIdentity(info) else {
            return .changed
        }
        return .content(content)
    }

    /// Copies `new/NAME` to `failed/NAME`, writes `failed/NAME.error` (one line), removes
    /// `new/NAME` (see ``SpoolQuarantine``).
    private func quarantine(_ name: SpoolName, reason: String, logger: Logger) {
        let quarantine = SpoolQuarantine(
            newDirectory: newDirectory, failedDirectory: failedDirectory, maximumMessageSize: spool.maxMessageSize)
        let line: String
        do {
            let quarantined = try quarantine.quarantine(name, reason: reason.printableExcerpt(maximumLength: 300, replacement: " "))
            line = quarantined.line
            if let code = quarantined.notRemoved {
                keepRejected(name, error: code, line: line, logger: logger)
                return
            }
        } catch {
            // Once per entry: it is skipped until it changes, so it costs nothing on later scans.
            stuck[name] = Self.identity(of: name.path(in: newDirectory))
            logger.error(
                "Cannot move a rejected spool file to failed/; it stays in new/ and is skipped until it changes",
                metadata: [LogKey.error: "\(error)", LogKey.reason: "\(reason.printableExcerpt(maximumLength: 300, replacement: " "))"])
            return
        }
        state.update {
            $0.quarantined += 1
            $0.changes &+= 1
        }
        state.metrics.intakeFiles(.rejected).increment()
        logger.warning("Spool file rejected and moved to failed/", metadata: [LogKey.reason: "\(line)"])
    }

    /// A rejected file whose copy and reason are in `failed/` but which could not be removed from
    /// `new/`: reported once, kept (skipped at every scan, removal tried again) like a queued one.
    private func keepRejected(_ name: SpoolName, error code: Int32, line: String, logger: Logger) {
        var info = stat()
        if lstat(name.path(in: newDirectory), &info) == 0 {
            let file = KeptSpoolFile(
                spoolName: name.bytes, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), messageID: nil,
                firstSeen: now())
            kept?[name] = file
            keptToRecord.append(file)
        }
        state.update {
            $0.quarantined += 1
            $0.changes &+= 1
        }
        state.metrics.intakeFiles(.rejected).increment()
        logger.warning(
            "Spool file rejected and copied to failed/, but it cannot be removed from new/; it is kept there and skipped",
            metadata: [LogKey.reason: "\(line)", LogKey.error: "\(String(cString: strerror(code)))"])
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
