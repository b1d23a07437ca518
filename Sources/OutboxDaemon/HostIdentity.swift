import Glibc

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
