public import Logging
public import OutboxConfig
import OutboxCore
import NIOCore
import NIOPosix
import OutboxSMTPServer
public import ServiceLifecycle
import Synchronization

/// The loopback SMTP listener (issue 12): takes the sockets systemd passed (`outboxd.socket`), or
/// binds `listen.addresses` itself, and runs one ``SMTPSessionHandler`` per connection on one
/// SwiftNIO event loop thread. Messages go through ``SMTPIntake`` into the queue.
///
/// On graceful shutdown it first stops accepting (with socket activation systemd keeps its copy of
/// the listening socket, so new connections wait in the backlog for the next outboxd instead of
/// being refused), then asks every session to end — 421 at once, or right after the message it is
/// sending has been committed and answered — and closes what is left after ``shutdownGrace``.
public struct SMTPListener: Service {
    /// Why the listener cannot start; one line.
    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
    }

    private let settings: ListenSettings
    private let passedSockets: [Int32]
    private let intake: SMTPIntake
    private let hostname: String
    private let logger: Logger
    private let onListening: @Sendable ([String]) -> Void

    /// How long sessions get to finish their message at shutdown.
    static let shutdownGrace: Duration = .seconds(10)

    /// - Parameters:
    ///   - passedSockets: from `sd_listen_fds`; when empty, `settings.addresses` are bound.
    ///   - onListening: told what is listening, for STATUS (`listening 127.0.0.1:25`).
    public init(settings: ListenSettings, passedSockets: [Int32], intake: SMTPIntake, hostname: String, logger: Logger,
                onListening: @escaping @Sendable ([String]) -> Void) {
        self.settings = settings
        self.passedSockets = passedSockets
        self.intake = intake
        self.hostname = hostname
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let sessions = SessionRegistry()
        let settings = settings, intake = intake, logger = logger
        let limits = SMTPServerConversation.Limits(
            hostname: hostname, maxRecipients: settings.maxRecipients, maxMessageSize: settings.maxMessageSize)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let address = channel.remoteAddress?.ipAddress ?? "unknown"
                let bytes = IPNetwork.parseAddress(address) ?? []
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    guard settings.allows(client: bytes) else {
                        logger.warning("SMTP client refused: not in listen.allow_networks", metadata: [LogKey.client: "\(address)"])
                        try pipeline.addHandler(RefusalHandler(SMTPReply(554, "5.7.1", "\(address) is not allowed to use this server")))
                        return
                    }
                    guard sessions.open(channel, limit: settings.maxConnections) else {
                        logger.warning("SMTP client refused: listen.max_connections reached", metadata: [LogKey.client: "\(address)"])
                        try pipeline.addHandler(RefusalHandler(SMTPReply(421, "4.7.0", "Too many connections, try again later")))
                        return
                    }
                    channel.closeFuture.whenComplete { _ in sessions.closed(channel) }
                    try pipeline.addHandler(IdleStateHandler(readTimeout: TimeAmount.nanoseconds(Int64(settings.idleTimeout.nanoseconds))))
                    try pipeline.addHandler(SMTPSessionHandler(limits: limits, intake: intake, client: .init(address: address), logger: logger))
                }.flatMapErrorThrowing { error in
                    logger.warning("Cannot set up an SMTP session", metadata: [LogKey.client: "\(address)", LogKey.error: "\(error)"])
                    throw error
                }
            }

        var servers: [any Channel] = []
        var names: [String] = []
        do {
            if passedSockets.isEmpty {
                for address in settings.addresses {
                    do {
                        servers.append(try await bootstrap.bind(host: address.host, port: address.port).get())
                        names.append("\(address)")
                    } catch {
                        // ::1 is missing on some hosts (IPv6 disabled); one address that works is enough.
                        logger.warning("Cannot listen on an address", metadata: [LogKey.address: "\(address)", LogKey.error: "\(error)"])
                    }
                }
                guard !servers.isEmpty else {
                    throw StartupError(description: "cannot listen on \(settings.addresses.map(\.description).joined(separator: ", ")) (listen.addresses; port 25 needs outboxd.socket or CAP_NET_BIND_SERVICE)")
                }
            } else {
                for fd in passedSockets {
                    let server = try await bootstrap.withBoundSocket(fd).get()
                    servers.append(server)
                    names.append(server.localAddress.map(Self.describe) ?? "fd \(fd)")
                }
            }
        } catch {
            for server in servers { try? await server.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        onListening(names)
        logger.notice("Listening for SMTP", metadata: [
            LogKey.addresses: "\(names.joined(separator: " "))",
            LogKey.socketActivated: "\(!passedSockets.isEmpty)",
        ])

        try? await gracefulShutdown()

        for server in servers { try? await server.close() }
        sessions.broadcast(ShutdownSessionEvent())
        let deadline = ContinuousClock.now + Self.shutdownGrace
        while sessions.count > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        sessions.closeAll()
        onListening([])
        try? await group.shutdownGracefully()
    }

    static func describe(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

/// The open sessions, for the connection limit and for shutdown.
final class SessionRegistry: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// Registers `channel` unless `limit` sessions are open.
    func open(_ channel: any Channel, limit: Int) -> Bool {
        channels.withLock {
            guard $0.count < limit else { return false }
            $0[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func closed(_ channel: any Channel) { _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }

    var count: Int { channels.withLock { $0.count } }

    func broadcast(_ event: ShutdownSessionEvent) {
        for channel in channels.withLock({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(event)
        }
    }

    func closeAll() {
        for channel in channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// Answers one reply and closes: for clients refused before the session starts.
final class RefusalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let reply: SMTPReply

    init(_ reply: SMTPReply) { self.reply = reply }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: reply.bytes))).assumeIsolated()
            .whenComplete { _ in context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
