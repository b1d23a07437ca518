import Foundation
import OutboxCore
import OutboxStore
import Testing

/// The store's record of spool files taken but not removable from `new/` (issue 17): it outlives
/// the message (a purge must not free the name), survives a restart, and goes when released.
@Suite("Kept spool files in the queue")
struct SpoolKeptStoreTests {
    let t0 = UnixTime(seconds: 1_800_000_000)

    func message() throws -> IncomingMessage {
        let text = "From: sender@example.org\nTo: a@example.org\nSubject: s\n\nbody\n"
        return try IncomingMessage(eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: t0, uniqueToken: "u"))
    }

    @Test("A kept file's row survives a restart and the purge of its sent message, with its identity")
    func survivesPurge() async throws {
        let queue = TemporaryQueue()
        let name = Array("1732650000.4242.eml".utf8)
        do {
            let store = try QueueStore(path: queue.path)
            let id = try await store.enqueue(try message(), spoolName: "1732650000.4242.eml", now: t0).queueID
            try await store.keepSpoolFiles([
                KeptSpoolFile(spoolName: name, device: 2049, inode: UInt64.max - 7, messageID: id, firstSeen: t0),
            ])
            for claimed in try await store.claimDue(limit: 10, now: t0, owner: "A", leaseFor: .seconds(60)) {
                #expect(try await store.finish(claimed.id, owner: "A", attempt: AttemptRecord(
                    startedAt: t0, duration: .milliseconds(5), server: "s:25", outcome: .delivered(reply: "250 ok"),
                    newState: .sent, nextAttemptAt: nil)))
            }
            #expect(try await store.purge(state: .sent, olderThan: .zero, now: t0 + .seconds(10)) == [id])
            try await store.close()
        }
        let reopened = try QueueStore(path: queue.path)
        let kept = try await reopened.keptSpoolFiles()
        #expect(kept == [KeptSpoolFile(spoolName: name, device: 2049, inode: UInt64.max - 7, messageID: QueueID(rawValue: 1), firstSeen: t0)])
    }

    @Test("Names are kept as bytes; a second row for a name replaces the first; released rows are gone")
    func bytesReplaceRelease() async throws {
        let queue = TemporaryQueue()
        let store = try QueueStore(path: queue.path)
        let odd: [UInt8] = [0x61, 0xFF, 0x0A, 0x62]  // not UTF-8, with a newline: a rejected file's name
        try await store.keepSpoolFiles([
            KeptSpoolFile(spoolName: odd, device: 1, inode: 10, messageID: nil, firstSeen: t0),
            KeptSpoolFile(spoolName: Array("b.eml".utf8), device: 1, inode: 11, messageID: QueueID(rawValue: 5), firstSeen: t0),
        ])
        try await store.keepSpoolFiles([
            KeptSpoolFile(spoolName: Array("b.eml".utf8), device: 1, inode: 12, messageID: QueueID(rawValue: 6), firstSeen: t0 + .seconds(1)),
        ])
        #expect(try await store.keptSpoolFiles().map(\.spoolName) == [odd, Array("b.eml".utf8)])
        #expect(try await store.keptSpoolFiles().last?.inode == 12)
        #expect(try await store.keptSpoolFiles().first?.messageID == nil)
        try await store.releaseKeptSpoolFiles(named: [odd])
        #expect(try await store.keptSpoolFiles().map(\.spoolName) == [Array("b.eml".utf8)])
        try await store.releaseKeptSpoolFiles(named: [Array("b.eml".utf8), Array("never.eml".utf8)])
        #expect(try await store.keptSpoolFiles().isEmpty)
    }
}
