import Testing

@testable import OutboxDaemon

/// The doorbell that wakes idle delivery workers, on a clock the test advances: a ring or the
/// timeout releases a waiter, and the test sees which, without sleeping.
@Suite("Doorbell (waking idle workers) on an injected clock", .timeLimit(.minutes(1)))
struct DoorbellTests {
    @Test("A ring wakes a waiting worker at once; the clock never moves")
    func ringWakes() async {
        let clock = ManualClock()
        let bell = Doorbell(clock: clock)
        let generation = bell.generation
        let waiter = Task { await bell.wait(after: generation, timeout: .seconds(30)) }
        #expect(await until { clock.sleeperCount == 1 }, "the waiter's timeout is running")
        bell.ring()
        await waiter.value
        #expect(clock.now == ManualClock.Instant(offset: .zero))
        #expect(bell.generation == generation + 1)
        #expect(await until { clock.sleeperCount == 0 }, "the timeout is cancelled with the wait")
    }

    @Test("A ring between looking for work and waiting is not lost")
    func ringBeforeWait() async {
        let clock = ManualClock()
        let bell = Doorbell(clock: clock)
        let generation = bell.generation
        bell.ring()  // a message was queued after the worker found nothing
        await bell.wait(after: generation, timeout: .seconds(3_600))
        #expect(clock.now == ManualClock.Instant(offset: .zero), "returned without the timeout")
    }

    @Test("Without a ring the worker waits exactly its timeout")
    func timeout() async {
        let clock = ManualClock()
        let bell = Doorbell(clock: clock)
        let waiter = Task { await bell.wait(after: bell.generation, timeout: .seconds(30)) }
        #expect(await until { clock.sleeperCount == 1 })
        clock.advance(by: .seconds(29))
        #expect(clock.sleeperCount == 1, "29 s in, the waiter still sleeps")
        clock.advance(by: .seconds(1))
        #expect(clock.sleeperCount == 0, "30 s in, the timeout woke the waiter")
        await waiter.value
        #expect(bell.generation == 0, "nobody rang")
    }

    @Test("A waiting worker returns when its task is cancelled (shutdown), without the clock moving")
    func cancellation() async {
        let clock = ManualClock()
        let bell = Doorbell(clock: clock)
        let waiter = Task { await bell.wait(after: bell.generation, timeout: .seconds(30)) }
        #expect(await until { clock.sleeperCount == 1 })
        waiter.cancel()
        await waiter.value
        #expect(clock.sleeperCount == 0)
    }

    @Test("One ring wakes every waiting worker")
    func ringWakesAll() async {
        let clock = ManualClock()
        let bell = Doorbell(clock: clock)
        let generation = bell.generation
        let waiters = (0..<4).map { _ in Task { await bell.wait(after: generation, timeout: .seconds(30)) } }
        #expect(await until { clock.sleeperCount == 4 })
        bell.ring()
        for waiter in waiters { await waiter.value }
        #expect(clock.now == ManualClock.Instant(offset: .zero))
    }
}
