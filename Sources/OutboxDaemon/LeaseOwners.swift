import Glibc
import OutboxStore
import Synchronization

/// The lease owners of this daemon's delivery workers, and the judge of everybody's.
///
/// Each worker leases under its own owner id, `<daemon owner>/w<n>` (unique for the daemon's
/// life), so a worker can only ever record or release what it claimed itself. The set of running
/// workers is known here, in memory, which is what makes a live lease unlosable: a claim skips a
/// lease whose owner is a running worker of this daemon, or a running outboxd on this host,
/// however old its wall-clock expiry looks — a clock step or a very slow relay cannot make a
/// second worker send the same message. Only owners that cannot be judged (another host's) are
/// left to the expiry.
final class LeaseOwners: Sendable {
    /// This daemon instance's owner id (`host:pid:random`).
    let daemon: String
    private let state = Mutex(State())

    private struct State {
        var next = 0
        var running: Set<String> = []
    }

    init(daemon: String) { self.daemon = daemon }

    /// A new, unique owner id for a worker that starts now; pair it with ``retire(_:)``.
    func enlist() -> String {
        state.withLock { state in
            state.next += 1
            let owner = "\(daemon)/w\(state.next)"
            state.running.insert(owner)
            return owner
        }
    }

    /// The worker has stopped: its leases (if any are left) are judged gone.
    func retire(_ owner: String) {
        _ = state.withLock { $0.running.remove(owner) }
    }

    /// Judges `owner`: this daemon's running workers are alive, its retired ones gone; another
    /// daemon is judged by its process (see ``HostIdentity/status(of:)``).
    func status(of owner: String) -> LeaseOwnerStatus {
        if owner == daemon || owner.hasPrefix(daemon + "/") {
            return state.withLock { $0.running.contains(owner) } ? .alive : .gone
        }
        return HostIdentity.status(of: owner)
    }
}
