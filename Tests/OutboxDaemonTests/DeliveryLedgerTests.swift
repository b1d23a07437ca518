import Dispatch
import Foundation
import OutboxCore
import OutboxStore
import Synchronization
import Testing

@testable import OutboxDaemon

/// A fresh queue file in a temporary directory, removed afterwards.
private struct TemporaryQueue: ~Copyable {
    let directory: URL
    var path: String { directory.appendingPathComponent("queue.sqlite3").path }

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-ledger-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

@Suite("Group commit of delivery turns (DeliveryLedger) on a real SQLite file")
struct DeliveryLedgerTests {
    let t0 = UnixTime(seconds: 1_800_000_000)

    func message(_ number: Int) throws -> IncomingMessage {
        let text = "From: sender@example.org\nTo: r\(number)@example.org\nSubject: \(number)\n\nbody \(number)\n"
        return try IncomingMessage(eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: t0, uniqueToken: "u\(number)"))
    }

    @Test("Workers taking turns at once: every message is sent once, each with one recorded attempt")
    func concurrentTurns() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let count = 200
        for number in 0..<count {
            _ = try await store.enqueue(try message(number), spoolName: "m\(number).eml", now: t0)
        }
        let ledger = DeliveryLedger(store: store, owner: "A", leaseDuration: .seconds(600), now: { [t0] in t0 })
        let claims = Mutex<[QueueID: Int]>([:])
        let failures = Mutex<[String]>([])
        let t0 = t0
        // Eight real threads, as the delivery lanes are: `take` blocks its caller.
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            var finishing: (id: QueueID, attempt: AttemptRecord)?
            do {
                for _ in 0...count {
                    let result = try ledger.take(DeliveryTurn(finishing: finishing, claims: true))
                    if finishing != nil && result.recorded != true { failures.withLock { $0.append("not recorded") } }
                    guard let claimed = result.claimed else { return }
                    claims.withLock { $0[claimed.id, default: 0] += 1 }
                    finishing = (claimed.id, AttemptRecord(
                        startedAt: t0, duration: .milliseconds(1), server: "s", outcome: .delivered(reply: "250 ok \(claimed.id)"),
                        newState: .sent, nextAttemptAt: nil))
                }
                failures.withLock { $0.append("did not run out of messages") }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(claims.withLock { $0.count } == count)
        #expect(claims.withLock { $0.values.allSatisfy { $0 == 1 } })
        #expect(try await store.counts()[.sent] == count)
        let sample = try #require(claims.withLock { $0.keys.first })
        #expect(try await store.attempts(of: sample).map(\.reply) == ["250 ok \(sample)"])
    }
}
