import Foundation
import OutboxCore
@testable import OutboxStore
import Testing

@Suite("Queue store durability")
struct QueueStoreDurabilityTests {
    /// GRDB's DatabasePool sets synchronous = NORMAL when it turns WAL on, after the configuration's
    /// prepareDatabase has run: a FULL set there is silently undone, and commits stop syncing the WAL.
    @Test("The writer commits with synchronous = FULL (every commit syncs the WAL), also after reopening the file")
    func writerSyncsEveryCommit() async throws {
        let queue = TemporaryQueue()
        do {
            let store = try QueueStore(path: queue.path)
            #expect(try await store.writerSynchronousMode == 2)
        }
        let reopened = try QueueStore(path: queue.path)
        #expect(try await reopened.writerSynchronousMode == 2)
    }
}
