/// Polls (bounded: 2 000 turns of 5 ms) until `condition` holds: a task on the pool gets there by itself.
/// For the suites on a ManualClock, where the test waits for a task to reach its wait, not for time.
func until(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<2_000 {
        if condition() { return true }
        await Task.yield()
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}
