import Glibc
import OutboxDelivery
import OutboxStore
import OutboxSystem

/// The machine's name (FQDN when the resolver knows one) and this process's lease owner id.
enum HostIdentity {
    /// The machine's name (``HostName/fullyQualified``, shared with the EHLO and check-config).
    static var fullyQualifiedName: String { HostName.fullyQualified }

    /// `host:pid:random`: unique per daemon instance, and tells a later instance on the same host
    /// whether the owner is still running.
    static func leaseOwner(random: UInt64) -> String {
        "\(fullyQualifiedName):\(getpid()):\(String(random, radix: 36))"
    }

    /// Whether the daemon that wrote lease owner `owner` (`host:pid:random`, optionally followed by
    /// `/worker`) still runs: on this host, a process with that pid that is an outboxd (the same
    /// program as this one: a recycled pid of another program is gone) is alive, any other is gone;
    /// an owner on another host cannot be judged.
    static func status(of owner: String) -> LeaseOwnerStatus {
        let parts = owner.split(separator: ":", maxSplits: 2)
        guard parts.count == 3, String(parts[0]) == fullyQualifiedName, let pid = Int32(parts[1]) else { return .unknown }
        if pid == getpid() { return .gone }  // an earlier instance with this very pid (ours are judged by LeaseOwners)
        if kill(pid, 0) != 0 && errno == ESRCH { return .gone }
        guard let theirs = programName(of: "\(pid)") else { return .gone }
        return theirs == programName(of: "self") ? .alive : .gone
    }

    /// `/proc/<pid>/comm`: the program's name, as the kernel keeps it.
    private static func programName(of pid: String) -> String? {
        let fd = open("/proc/\(pid)/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // An interrupted read must not make a live owner look gone (its lease would be taken).
        guard let name = try? FileDescriptorIO.readAll(fd, upTo: 64, path: "/proc/\(pid)/comm"), !name.isEmpty else { return nil }
        return String(decoding: name, as: UTF8.self)
    }
}
