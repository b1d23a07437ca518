import Synchronization
import Testing

@testable import OutboxDaemon

@Suite("Rate gate (delivery.rate_limit) on an injected clock", .timeLimit(.minutes(1)))
struct RateGateTests {
    @Test("With the window full, a worker waits until the oldest send leaves the minute, and not a moment sooner")
    func waitsForTheWindow() async throws {
        let clock = ManualClock()
        let gate = RateGate(messagesPerMinute: 2, clock: clock)
        try await gate.acquire()
        clock.advance(by: .seconds(10))
        try await gate.acquire()

        let passed = Atomic<Bool>(false)
        let third = Task {
            try await gate.acquire()
            passed.store(true, ordering: .sequentiallyConsistent)
        }
        #expect(await until { clock.sleeperCount == 1 }, "the third worker should be waiting")
        clock.advance(by: .seconds(49))  // 59 s after the first send
        #expect(clock.sleeperCount == 1)
        let passedEarly = passed.load(ordering: .sequentiallyConsistent)
        #expect(!passedEarly)

        clock.advance(by: .seconds(1))  // the first send leaves the window
        let passedInTime = await until { passed.load(ordering: .sequentiallyConsistent) }
        #expect(passedInTime)
        try await third.value
    }

    @Test("A slot given back (nothing was due) is free at once")
    func giveBack() async throws {
        let clock = ManualClock()
        let gate = RateGate(messagesPerMinute: 1, clock: clock)
        try await gate.acquire()
        await gate.giveBack()
        try await gate.acquire()
        #expect(clock.sleeperCount == 0)
    }

    @Test("A waiting worker is cancelled with its task (shutdown), without the clock moving")
    func cancellation() async throws {
        let clock = ManualClock()
        let gate = RateGate(messagesPerMinute: 1, clock: clock)
        try await gate.acquire()
        let waiting = Task { try await gate.acquire() }
        #expect(await until { clock.sleeperCount == 1 })
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(clock.sleeperCount == 0)
    }
}
