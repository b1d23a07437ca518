import ArgumentParser
import Foundation
import Glibc
import OutboxConfig
import OutboxCore
import OutboxStore
import OutboxSystem

/// `outbox test-send --to ADDR`: queues a test message the way a producer does and waits for its outcome.
struct TestSend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-send",
        abstract: "Queue a test message through the spool and wait (bounded) for the daemon's outcome.",
        discussion: """
            Writes the message into the spool like any producer (so it needs write access to the \
            spool: root or the outbox group), then follows it in the queue. Exit 0 when it was \
            sent; 69 (EX_UNAVAILABLE) when the server refused it for good; 75 (EX_TEMPFAIL) when \
            it was deferred or no outcome came within --timeout (it stays queued either way); 65 \
            when outboxd rejected the file.

            Examples:
              outbox test-send --to admin@example.org
              outbox test-send --to admin@example.org --from xnat@example.org --timeout 2m
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("The recipient.", valueName: "address"))
    var to: String

    @Option(name: .long, help: ArgumentHelp("The sender (default: smtp.from, else root@this host).", valueName: "address"))
    var from: String?

    @Option(name: .long, help: ArgumentHelp("How long to wait for the outcome.", valueName: "duration"))
    var timeout: String = "60s"

    func run() async throws {
        guard let limit = DurationParser.parse(timeout) else {
            throw ExitStatus.usage.fail("--timeout: \"\(timeout)\" is not a duration (use 30s, 2m)")
        }
        let configuration = try await loadConfiguration(global.config)
        let recipient: EmailAddress, sender: EmailAddress
        do {
            recipient = try EmailAddress(to)
            sender = try from.map { try EmailAddress($0) } ?? configuration.smtp.from ?? EmailAddress("root@\(Self.hostname)")
        } catch {
            throw ExitStatus.usage.fail("\(error)")
        }

        let now = UnixTime.current
        let spool = configuration.spool.directory
        let text = """
            From: \(sender.value)
            To: \(recipient.value)
            Subject: outbox test message

            This is a test message from `outbox test-send` on \(Self.hostname), \(RFC5322Date.format(now)).

            """
        // The producers' protocol, as `outbox enqueue` follows it (durable before it is in new/).
        let name: String
        do {
            name = try SpoolWriter(directory: spool).write(Array(text.utf8), extension: "eml")
        } catch .permission(let reason) {
            throw ExitStatus.noPermission.fail(reason)
        } catch .temporary(let reason) {
            throw ExitStatus.tempFail.fail(reason)
        }

        let store = try await global.openQueue()
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var id: QueueID?
        while clock.now < deadline {
            if id == nil {
                if let reason = try? String(contentsOfFile: spool + "/failed/" + name + ".error", encoding: .utf8) {
                    throw ExitStatus.dataError.fail("outboxd rejected the test message: " + reason.trimmingWhitespace())
                }
                id = try? await store.queueID(spoolName: name)
                if let id { print("queued as \(id)") }
            }
            if let id, let detail = try? await store.message(id, now: .current) {
                let reply = detail.attempts.last?.reply ?? detail.entry.lastError ?? ""
                switch detail.entry.state {
                case .sent:
                    print("sent to \(recipient.value): \(reply)")
                    return
                case .failed:
                    throw ExitStatus.unavailable.fail("failed for good: \(reply)")
                case .deferred:
                    throw ExitStatus.tempFail.fail(
                        "deferred: \(reply); next attempt \(max(detail.entry.nextAttemptAt, .current).relative(to: .current)) (outbox show \(id))")
                case .held:
                    throw ExitStatus.tempFail.fail("held by an admin (outbox release \(id))")
                case .queued:
                    break
                }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        if let id {
            throw ExitStatus.tempFail.fail("no outcome within \(timeout); the message stays queued (outbox show \(id))")
        }
        throw ExitStatus.tempFail.fail("outboxd did not take the message within \(timeout) (is it running?); it waits in \(spool)/new")
    }

    static var hostname: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
