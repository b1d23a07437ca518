import Glibc
import OutboxDelivery

/// The machine's name (FQDN when the resolver knows one) and this process's lease owner id.
enum HostIdentity {
    /// The machine's name (``HostName/fullyQualified``, shared with the EHLO and check-config).
    static var fullyQualifiedName: String { HostName.fullyQualified }

    /// `host:pid:random`: unique per daemon instance, and tells a later instance on the same host
    /// whether the owner is still running.
    static func leaseOwner(random: UInt64) -> String {
        "\(fullyQualifiedName):\(getpid()):\(String(random, radix: 36))"
    }

    /// True when `owner` was a daemon on this host whose process no longer runs (or was an earlier
    /// instance with this very pid). Owners on other hosts are never judged.
    static func isGone(_ owner: String, currentOwner: String) -> Bool {
        let parts = owner.split(separator: ":")
        guard parts.count == 3, String(parts[0]) == fullyQualifiedName, let pid = Int32(parts[1]) else { return false }
        if owner == currentOwner { return false }
        if pid == getpid() { return true }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
