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

@Suite("Relative times for STATUS")
struct CoarseRelativeTimeTests {
    let now = UnixTime(seconds: 1_800_000_000)

    @Test("With a minute's precision: under a minute either way is now, then whole minutes and more",
          arguments: [(-59.0, "now"), (30.0, "now"), (-60.0, "1m ago"), (-7200.0, "2h ago"), (120.0, "in 2m")])
    func minutes(offsetSeconds: Double, expected: String) {
        #expect(UnixTime(seconds: now.seconds + offsetSeconds).relative(to: now, precision: .seconds(60)) == expected)
    }
}
