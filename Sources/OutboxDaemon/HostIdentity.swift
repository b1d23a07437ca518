import Glibc
import OutboxStore

/// The machine's name (FQDN when the resolver knows one) and this process's lease owner id.
enum HostIdentity {
    /// The fully qualified name from `getaddrinfo(AI_CANONNAME)`, else `gethostname`, else localhost.
    static let fullyQualifiedName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let short = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var hints = addrinfo()
        hints.ai_flags = AI_CANONNAME
        var result: UnsafeMutablePointer<addrinfo>?
        defer { if let result { freeaddrinfo(result) } }
        if getaddrinfo(short, nil, &hints, &result) == 0, let canonical = result?.pointee.ai_canonname {
            let name = String(cString: canonical)
            if name.contains(".") { return name }
        }
        return short.isEmpty ? "localhost" : short
    }()

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
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }
}
