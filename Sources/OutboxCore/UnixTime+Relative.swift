extension UnixTime {
    /// This time relative to `now`, for people: `2h ago`, `in 4m`, `now` (units as
    /// ``RelativeTime/describe(_:)``). Less than `precision` either way is `now`: a second for the
    /// CLI; a minute for `STATUS=`, which is sent only when its text changes.
    ///
    /// The one wording for times past and future. A next attempt already due reads `now`: pass
    /// `max(nextAttempt, now)`.
    public func relative(to now: UnixTime, precision: Duration = .seconds(1)) -> String {
        let difference = self - now
        if difference < precision && .zero - difference < precision { return "now" }
        return difference < .zero ? RelativeTime.describe(now - self) + " ago" : "in " + RelativeTime.describe(difference)
    }
}
