import OutboxCore
import Testing

@Suite("Sending rate limit")
struct SendingRateLimitTests {
    @Test("Up to the limit at once, then the next slot opens when the oldest send leaves the minute")
    func slidingWindow() {
        var limit = SendingRateLimit(limit: 2)
        #expect(limit.reserve(at: .seconds(0)) == .zero)
        #expect(limit.reserve(at: .seconds(10)) == .zero)
        #expect(limit.reserve(at: .seconds(20)) == .seconds(40))
        #expect(limit.reserve(at: .seconds(60)) == .zero)
        #expect(limit.reserve(at: .seconds(61)) == .seconds(9))
        #expect(limit.reserve(at: .seconds(70)) == .zero)
    }

    @Test("A slot given back (nothing was due) is free again at once")
    func giveBack() {
        var limit = SendingRateLimit(limit: 1)
        #expect(limit.reserve(at: .seconds(0)) == .zero)
        limit.cancelLastReservation()
        #expect(limit.reserve(at: .seconds(1)) == .zero)
        #expect(limit.reserve(at: .seconds(2)) == .seconds(59))
    }
}
