public import OutboxCore

/// Keys under `listen:` — the loopback SMTP listener (issue 12). Without any `listen.*` key and
/// without a socket passed by systemd (`outboxd.socket`), nothing listens.
/// - `addresses` (list of `host:port`, IPv6 as `[::1]:25`, default `127.0.0.1:25 [::1]:25`):
///   where outboxd binds when systemd passed no socket. A YAML list or one space-separated string.
/// - `max_connections` (int 1–10000, default 100): sessions at once; more are answered 421.
/// - `max_recipients` (int 1–100000, default 1000): RCPT per message; more are answered 452.
/// - `max_message_size` (int bytes, default: `spool.max_message_size`): SIZE and DATA limit (552).
/// - `idle_timeout` (duration, default 5m): a silent client is answered 421 and disconnected.
/// - `allow_networks` (list of CIDR, default none): client networks allowed besides loopback
///   (127.0.0.0/8, ::1). A non-loopback listen address needs at least one entry: outbox must
///   never become an open relay.
public struct ListenSettings: Sendable, Hashable {
    /// One `host:port` to bind.
    public struct Address: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var bytes: [UInt8]
        public var description: String { bytes.count == 16 ? "[\(host)]:\(port)" : "\(host):\(port)" }

        /// Parses `127.0.0.1:25` or `[::1]:25`; IP literals only (no resolver at startup).
        public init?(_ text: String) {
            let host: Substring, port: Substring
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
                host = text[text.index(after: text.startIndex)..<close]
                port = text[text.index(close, offsetBy: 2)...]
                guard host.contains(":") else { return nil }
            } else {
                guard let colon = text.lastIndex(of: ":") else { return nil }
                host = text[..<colon]
                port = text[text.index(after: colon)...]
                guard !host.contains(":") else { return nil }
            }
            guard let bytes = IPNetwork.parseAddress(String(host)), let number = Int(port), (1...65535).contains(number)
            else { return nil }
            self.host = String(host)
            self.port = number
            self.bytes = bytes
        }

        public var isLoopback: Bool { IPNetwork.loopback.contains { $0.contains(bytes) } }
    }

    public var addresses: [Address] = [Address("127.0.0.1:25")!, Address("[::1]:25")!]
    public var maxConnections = 100
    public var maxRecipients = 1000
    public var maxMessageSize: Int
    public var idleTimeout: Duration = .seconds(300)
    public var allowNetworks: [IPNetwork] = []

    public init(maxMessageSize: Int = SpoolSettings().maxMessageSize) {
        self.maxMessageSize = maxMessageSize
    }

    /// True when a client at `address` may talk to the listener: loopback, or in `allow_networks`.
    public func allows(client address: [UInt8]) -> Bool {
        (IPNetwork.loopback + allowNetworks).contains { $0.contains(address) }
    }
}
