/// An IPv4 or IPv6 address, or a network in CIDR notation (`10.0.0.0/8`, `fd00::/8`): the
/// listener's `allow_networks` and the loopback test. Pure parsing, no resolver.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 16 bytes, host bits cleared.
    public let bytes: [UInt8]
    public let prefixLength: Int

    /// 127.0.0.0/8 and ::1/128: always allowed to connect.
    public static let loopback: [IPNetwork] = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]

    /// Parses `address` or `address/prefix`; nil when it is neither.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPNetwork.parseAddress(String(parts[0])) else { return nil }
        let bits = address.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value) else { return nil }
            prefix = value
        }
        var masked = address
        for index in masked.indices {
            let keep = max(0, min(8, prefix - index * 8))
            masked[index] &= keep == 0 ? 0 : UInt8(0xFF << (8 - keep) & 0xFF)
        }
        bytes = masked
        prefixLength = prefix
    }

    /// True when `address` (4 or 16 bytes; IPv4-mapped IPv6 counts as IPv4) lies in this network.
    public func contains(_ address: [UInt8]) -> Bool {
        var address = address
        if address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF {
            address = Array(address[12...])
        }
        guard address.count == bytes.count else { return false }
        for index in bytes.indices {
            let keep = max(0, min(8, prefixLength - index * 8))
            let mask = keep == 0 ? UInt8(0) : UInt8(0xFF << (8 - keep) & 0xFF)
            if address[index] & mask != bytes[index] { return false }
        }
        return true
    }

    /// True when the text address lies in this network.
    public func contains(_ address: String) -> Bool {
        guard let parsed = IPNetwork.parseAddress(address) else { return false }
        return contains(parsed)
    }

    public var description: String {
        let address: String
        if bytes.count == 4 {
            address = bytes.map(String.init).joined(separator: ".")
        } else {
            address = stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        return "\(address)/\(prefixLength)"
    }

    /// Dotted IPv4 or RFC 4291 IPv6 text (with `::` and an optional embedded IPv4 tail).
    public static func parseAddress(_ text: String) -> [UInt8]? {
        if !text.contains(":") {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var out: [UInt8] = []
            for part in parts {
                guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let value = UInt8(part) else { return nil }
                out.append(value)
            }
            return out
        }
        let halves = text.components(separatedByDoubleColon: ())
        guard halves.count <= 2 else { return nil }
        func groups(_ part: Substring) -> [UInt8]? {
            if part.isEmpty { return [] }
            var out: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseAddress(String(piece)) else { return nil }
                    out += v4
                } else {
                    guard !piece.isEmpty, piece.count <= 4, let value = UInt16(piece, radix: 16) else { return nil }
                    out += [UInt8(value >> 8), UInt8(value & 0xFF)]
                }
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

extension String {
    /// Splits at the first `::` (a second one makes three parts, which callers refuse).
    fileprivate func components(separatedByDoubleColon: ()) -> [Substring] {
        var parts: [Substring] = []
        var rest = self[...]
        while let range = rest.firstRange(of: "::") {
            parts.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        parts.append(rest)
        return parts
    }
}
