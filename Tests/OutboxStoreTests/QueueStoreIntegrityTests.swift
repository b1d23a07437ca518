import Foundation
import OutboxCore
import OutboxStore
import Testing

@Suite("A damaged queue file is refused and left as it was")
struct QueueStoreIntegrityTests {
    let t0 = UnixTime(seconds: 1_800_000_000)

    /// A queue of `count` messages of about 4 KB each, closed: a file of a few hundred pages.
    func filledQueue(_ queue: borrowing TemporaryQueue, count: Int) async throws {
        let store = try QueueStore(path: queue.path)
        let body = String(repeating: String(repeating: "x", count: 75) + "\n", count: 50)
        for index in 0..<count {
            let text = "From: s@example.org\nTo: r@example.org\nSubject: \(index)\n\n\(body)"
            let message = try IncomingMessage(eml: Array(text.utf8), context: .init(defaultSender: nil, hostname: "h", now: t0, uniqueToken: "u\(index)"))
            _ = try await store.enqueue(message, spoolName: "m\(index).eml", now: t0)
        }
    }

    @Test("A sound file passes; a missing file is no error (the first start creates it)")
    func soundFile() async throws {
        let queue = TemporaryQueue()
        try await QueueStore.verifyIntegrity(path: queue.path)
        try await filledQueue(queue, count: 20)
        try await QueueStore.verifyIntegrity(path: queue.path)
    }

    @Test("Garbage pages in the middle and a file that is not SQLite are refused with one line; the bytes stay the same")
    func damagedFiles() async throws {
        let queue = TemporaryQueue()
        try await filledQueue(queue, count: 200)
        for sidecar in ["-wal", "-shm"] { unlink(queue.path + sidecar) }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: queue.path))
        let pages = bytes.count / 4096
        #expect(pages > 100)
        var random = SystemRandomNumberGenerator()
        for offset in (pages / 2 * 4096)..<(pages / 2 * 4096 + 4 * 4096) { bytes[offset] = UInt8.random(in: 0...255, using: &random) }
        let notSQLite = Data((0..<100_000).map { _ in UInt8.random(in: 0...255, using: &random) })
        for damaged in [bytes, notSQLite] {
            try damaged.write(to: URL(fileURLWithPath: queue.path))
            await #expect {
                try await QueueStore.verifyIntegrity(path: queue.path)
            } throws: { error in
                guard case QueueStoreError.corrupt = error else { return false }
                let text = "\(error)"
                return text.contains("is damaged") && !text.contains("\n")
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: queue.path)) == damaged)
        }
    }

    @Test("A file unchanged since its clean-stop record gets the header check; a later write, or no record, the whole file")
    func cleanStopRecord() async throws {
        let queue = TemporaryQueue()
        try await filledQueue(queue, count: 20)
        #expect(try await QueueStore.verifyIntegrity(path: queue.path)?.scope == .wholeFile, "no record yet")
        #expect(try await QueueStore.verifyIntegrity(path: queue.path, withoutRecord: .header)?.scope == .header)

        let store = try QueueStore(path: queue.path)
        try await store.close()
        #expect(try await QueueStore.recordCleanStop(path: queue.path))
        let clean = try #require(try await QueueStore.verifyIntegrity(path: queue.path))
        #expect(clean.scope == .header)
        #expect(clean.reason == "unchanged since the last clean stop")

        // A writer after the record: its commit sits in the write-ahead log while it is open, and
        // reaches the file (a new modification time) when it closes.
        let writer = try QueueStore(path: queue.path)
        _ = try await writer.enqueue(
            try IncomingMessage(eml: Array("From: s@example.org\nTo: r@example.org\nSubject: late\n\nx\n".utf8),
                                context: .init(defaultSender: nil, hostname: "h", now: t0, uniqueToken: "late")),
            spoolName: "late.eml", now: t0)
        let open = try #require(try await QueueStore.verifyIntegrity(path: queue.path))
        #expect(open.scope == .wholeFile)
        #expect(open.reason == "changed since the last clean stop")
        try await writer.close()
        #expect(try await QueueStore.verifyIntegrity(path: queue.path)?.scope == .wholeFile)

        // The daemon forgets the record before its first write.
        #expect(try await QueueStore.recordCleanStop(path: queue.path))
        try await QueueStore.forgetCleanStop(path: queue.path)
        #expect(!FileManager.default.fileExists(atPath: CleanStopRecord.path(for: queue.path)))
        #expect(try await QueueStore.verifyIntegrity(path: queue.path)?.scope == .wholeFile)
    }

    @Test("Garbage written into a cleanly stopped file is refused although a record exists")
    func damageAfterCleanStop() async throws {
        let queue = TemporaryQueue()
        try await filledQueue(queue, count: 200)
        let store = try QueueStore(path: queue.path)
        try await store.close()
        #expect(try await QueueStore.recordCleanStop(path: queue.path))
        // Every page but the first (header and schema): the header check alone would pass.
        let handle = try #require(FileHandle(forUpdatingAtPath: queue.path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data((0..<Int(size) - 4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 9) }))
        try handle.close()
        await #expect {
            try await QueueStore.verifyIntegrity(path: queue.path, withoutRecord: .header)
        } throws: { error in
            guard case QueueStoreError.corrupt = error else { return false }
            return !"\(error)".contains("\n")
        }
    }
}
