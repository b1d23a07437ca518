import Foundation
import Glibc
import Synchronization
import Testing

/// Where the package and the built binaries are. The test bundle runs from the build's bin
/// directory, next to `outboxd` and `outbox` (scripts/test.sh builds them first).
enum Paths {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let binDirectory: URL = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent()
    }()
    static var outboxd: String { binDirectory.appendingPathComponent("outboxd").path }
    static var outbox: String { binDirectory.appendingPathComponent("outbox").path }
    static var smtpServerScript: String { packageRoot.appendingPathComponent("scripts/smtp-server.py").path }
    static var tokenServerScript: String { packageRoot.appendingPathComponent("scripts/oauth2-token-server.py").path }
}

/// A fresh directory per test, removed afterwards.
final class Scratch {
    let url: URL
    var path: String { url.path }

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-e2e-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes (a bounded wait, not a speed check).
func eventually(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try condition()
}

/// A real SMTP server (Debian's python3-aiosmtpd, scripts/smtp-server.py) on 127.0.0.1 that
/// writes every message it accepts to a folder.
final class SMTPTestServer {
    struct Received: Decodable {
        var mail_from: String
        var rcpt_tos: [String]
        var data: String
        /// MAIL FROM's parameters as the client sent them (SIZE=…).
        var mail_options: [String]?
        var authenticated: Bool?
        var tls: Bool?
    }

    let scratch: Scratch
    let outDirectory: String
    private(set) var port: Int = 0
    private var process: ChildProcess?
    /// Extra scripts/smtp-server.py options (TLS, AUTH, scripted refusals).
    var arguments: [String]

    /// Starts on a free port (or on `port`), and returns once it listens.
    init(port requested: Int = 0, scratch: Scratch = Scratch(), arguments: [String] = []) throws {
        self.scratch = scratch
        self.arguments = arguments
        outDirectory = scratch.file("received")
        try start(port: requested)
    }

    func start(port requested: Int) throws {
        let portFile = scratch.file("port-\(UUID().uuidString)")
        let process = try ChildProcess(
            "/usr/bin/python3",
            [Paths.smtpServerScript, "--quiet", "--host", "127.0.0.1", "--port", "\(requested)", "--port-file", portFile,
             "--out", outDirectory] + arguments,
            outputPath: scratch.file("smtp-server.log"))
        self.process = process
        if let listening = waitForPortFile(portFile, of: process) {
            port = listening
            return
        }
        let log = (try? String(contentsOfFile: scratch.file("smtp-server.log"), encoding: .utf8)) ?? ""
        throw TestFailure("the SMTP test server did not start (is python3-aiosmtpd installed? scripts/setup-debian.sh): \(log.suffix(600))")
    }

    func stop() {
        guard let process else { return }
        process.signal(SIGTERM)
        process.wait()
        self.process = nil
    }

    deinit { stop() }

    /// Messages received so far, in arrival order.
    func received() -> [Received] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: outDirectory)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return names.compactMap { name in
            guard let data = FileManager.default.contents(atPath: outDirectory + "/" + name) else { return nil }
            return try? JSONDecoder().decode(Received.self, from: data)
        }
    }
}

/// Waits (bounded, 20 s) until a test server started with `--port-file PATH` writes the port it
/// listens on; nil when it exits or the time is up.
func waitForPortFile(_ path: String, of process: ChildProcess) -> Int? {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(20)
    while clock.now < deadline {
        if let text = try? String(contentsOfFile: path, encoding: .utf8),
            let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            return value
        }
        guard process.isRunning else { return nil }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return nil
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The real `outboxd` binary with a configuration and state in a scratch directory.
final class DaemonUnderTest {
    let scratch: Scratch
    var configPath: String { scratch.file("outbox.yaml") }
    var spool: String { scratch.file("spool") }
    var database: String { scratch.file("queue.sqlite3") }
    var logPath: String { scratch.file("outboxd.log") }
    private(set) var process: ChildProcess?
    /// Added to outboxd's environment at each start (e.g. CREDENTIALS_DIRECTORY, LD_PRELOAD of a test shim).
    var environment: [String: String] = [:]

    init(scratch: Scratch = Scratch()) { self.scratch = scratch }

    /// Writes the configuration: the state paths are filled in, `smtp` and `extra` are YAML lines.
    /// `queue` lines go under `queue:` after the database.
    func configure(smtp: [String], queue: [String] = [], extra: String = "") {
        let yaml = """
            smtp:
            \(smtp.map { "  " + $0 }.joined(separator: "\n"))
            queue:
              database: \(database)
            \(queue.map { "  " + $0 + "\n" }.joined())
            spool:
              directory: \(spool)
            \(extra)
            """
        // Owner-only, as outboxd requires of a file that holds smtp.password.
        FileManager.default.createFile(atPath: configPath, contents: Data(yaml.utf8), attributes: [.posixPermissions: 0o600])
    }

    /// The stand-in for systemd's `$NOTIFY_SOCKET` that outboxd reports to (READY=1, STATUS=…).
    private(set) var notify: NotifySocket?

    /// Starts outboxd and waits until it tells systemd it is ready (`READY=1`: the queue is open
    /// and the spool watched), as `systemctl start` does.
    /// - Parameter notify: the socket to report to; by default one in the scratch directory, kept
    ///   across restarts of this daemon.
    /// - Parameter extraEnvironment: added to the test process's environment (e.g. `CREDENTIALS_DIRECTORY`).
    func start(notify given: NotifySocket? = nil, extraEnvironment: [String: String] = [:]) async throws {
        let socket = try given ?? notify ?? NotifySocket(path: scratch.file("notify"))
        notify = socket
        let readyBefore = socket.receive().filter { $0.split(separator: "\n").contains("READY=1") }.count
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = socket.path
        environment.merge(self.environment) { _, added in added }
        environment.merge(extraEnvironment) { _, new in new }
        let process = try ChildProcess(Paths.outboxd, ["--config", configPath], environment: environment, outputPath: logPath)
        self.process = process
        let ready = await eventually {
            socket.receive().filter { $0.split(separator: "\n").contains("READY=1") }.count > readyBefore || !process.isRunning
        }
        guard ready, process.isRunning else {
            throw TestFailure("outboxd did not become ready: \(logText)")
        }
    }

    var logText: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func occurrences(of text: String) -> Int { logText.components(separatedBy: text).count - 1 }

    /// Hands a message over as a producer does: write into tmp/, rename into new/.
    func drop(_ name: String, _ content: String) throws {
        let temporary = spool + "/tmp/" + name
        FileManager.default.createFile(atPath: temporary, contents: Data(content.utf8))
        try FileManager.default.moveItem(atPath: temporary, toPath: spool + "/new/" + name)
    }

    /// SIGTERM, then the exit status.
    @discardableResult
    func terminate() -> Int32 {
        guard let process else { return -1 }
        process.signal(SIGTERM)
        self.process = nil
        return process.wait()
    }

    /// SIGKILL: no chance to clean up.
    func kill9() {
        guard let process else { return }
        process.signal(SIGKILL)
        process.wait()
        self.process = nil
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// `outbox list --json`, parsed.
    func list() throws -> [[String: Any]] {
        let result = try run(Paths.outbox, ["list", "--json", "--config", configPath])
        guard result.status == 0 else { throw TestFailure("outbox list failed: \(result.stderr)") }
        return try result.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }
}


/// A port on 127.0.0.1 that nothing listens on, for a daemon or a peer the test starts next.
///
/// It comes from below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`). The kernel
/// hands out ports from that range to every outgoing connection and to every server bound to
/// port 0 (the test SMTP servers), so a port taken from it here could be taken by another test
/// between this check and the daemon's bind (seen in CI: "Address already in use"). Below the
/// range only tests that ask here bind, and each call in this process gets another port.
func freeLoopbackPort() throws -> Int {
    let ephemeralLow = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
        .flatMap { $0.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } } ?? 32768
    let range = max(1024, ephemeralLow - 10_000)..<ephemeralLow
    for _ in 0..<range.count {
        let port = testPorts.withLock { next -> Int in
            let port = range.lowerBound + next % range.count
            next += 1
            return port
        }
        if canBindLoopback(port: port) { return port }
    }
    throw TestFailure("no free loopback port in \(range)")
}

/// The next candidate for ``freeLoopbackPort()``, from a random start so that two test runs at
/// once rarely try the same ports.
private let testPorts = Mutex(Int.random(in: 0..<10_000))

private func canBindLoopback(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}
