extension UnixTime {
    /// This time relative to `now`, for people: `2h ago`, `in 4m`, `now` (units as
    /// ``RelativeTime/describe(_:)``; less than a second either way is `now`).
    public func relative(to now: UnixTime) -> String {
        let difference = self - now
        if abs(difference.wholeMilliseconds) < 1000 { return "now" }
        return difference < .zero ? RelativeTime.describe(now - self) + " ago" : "in " + RelativeTime.describe(difference)
    }
}
