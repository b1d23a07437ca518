import OutboxCore

/// Keys under `metrics:`:
/// - `listen` (string, default "" = off): `host:port` where outboxd serves Prometheus text on
///   `/metrics`, e.g. `127.0.0.1:9469` (9469 is free in Prometheus's port allocation list);
///   `[::1]:9469` for IPv6. The page holds no secrets, but it tells anyone who reaches it how
///   much mail this host sends: keep it on loopback or a monitoring network.
public struct MetricsSettings: Sendable, Hashable {
    /// A host (name or address, without brackets) and a TCP port.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses `host:port` or `[v6-address]:port`.
        public init(_ text: String) throws(InvalidEndpoint) {
            let host: Substring
            let port: Substring
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                    throw InvalidEndpoint(text: text)
                }
                host = text[text.index(after: text.startIndex)..<close]
                port = text[text.index(close, offsetBy: 2)...]
            } else {
                guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                    throw InvalidEndpoint(text: text)
                }
                host = text[..<colon]
                port = text[text.index(after: colon)...]
            }
            guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }),
                  let number = Int(port), (1...65535).contains(number)
            else {
                throw InvalidEndpoint(text: text)
            }
            self.init(host: String(host), port: number)
        }

        /// `127.0.0.1:9469`, `[::1]:9469`.
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// Why a `metrics.listen` value was refused.
    public struct InvalidEndpoint: Error, CustomStringConvertible {
        public var text: String
        public var description: String {
            "expected host:port (e.g. 127.0.0.1:9469 or [::1]:9469), got \"\(text.printableExcerpt)\""
        }
    }

    /// Where to serve `/metrics`; nil: no endpoint.
    public var listen: Endpoint?
    public init() {}
}
