import Glibc

/// This machine's name as mail sees it: one answer for the daemon's EHLO, its lease owner ids and
/// `outbox check-config`.
public enum HostName {
    /// The fully qualified name from `getaddrinfo(AI_CANONNAME)`, else `gethostname`, else localhost.
    public static let fullyQualified: String = {
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
}
