/// Where a message is in its life. Stored as the raw value; the CLI prints it as is.
///
/// `queued` and `deferred` are due for delivery once `next_attempt_at` has passed; a message
/// being sent is one of those two with a live lease. `held` waits for an admin. `sent` and
/// `failed` are final and kept (never silently deleted).
public enum QueueState: String, Sendable, Hashable, CaseIterable, Codable {
    /// Accepted, not tried yet.
    case queued
    /// Tried and temporarily failed; waits for its next attempt.
    case deferred
    /// Set aside by an admin; never sent until released.
    case held
    /// Every recipient accepted by the server.
    case sent
    /// Permanently refused, or out of lifetime.
    case failed
}
