import OutboxCore
import Testing

@Suite("Relative times")
struct RelativeTimeTests {
    let now = UnixTime(seconds: 1_800_000_000)

    @Test("Past times read 'ago', future ones 'in', the largest whole unit wins",
          arguments: [(-7200, "2h ago"), (-59, "59s ago"), (-90, "1m ago"), (-3 * 86_400, "3d ago"),
                      (240, "in 4m"), (5, "in 5s"), (86_399, "in 23h")])
    func relative(offsetSeconds: Double, expected: String) {
        #expect(UnixTime(seconds: now.seconds + offsetSeconds).relative(to: now) == expected)
    }

    @Test("Less than a second either way is now", arguments: [0.0, 0.4, -0.9])
    func nowish(offsetSeconds: Double) {
        #expect(UnixTime(seconds: now.seconds + offsetSeconds).relative(to: now) == "now")
    }
}
