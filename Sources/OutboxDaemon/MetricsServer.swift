import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OutboxConfig
import OutboxCore
import OutboxMetrics
import OutboxStore
import ServiceLifecycle

/// Serves `GET /metrics` (Prometheus text format) on `metrics.listen`, reading the queue-side
/// values at each scrape. One request per connection, then close: a scraper needs no more.
///
/// A port that cannot be bound (in use, not allowed) never stops mail: the server logs an error
/// and tries again every 30 s. Runs on a one-thread event loop of its own.
struct MetricsServer: Service {
    let endpoint: MetricsSettings.Endpoint
    let metrics: OutboxMetrics
    let store: QueueStore
    let state: DaemonState
    let logger: Logger
    let now: @Sendable () -> UnixTime

    private typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        var lastProblem = ""
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let server: NIOAsyncChannel<Connection, Never>
            do {
                server = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: endpoint.host, port: endpoint.port) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                            // A client that connects and says nothing is dropped after 10 s.
                            try channel.pipeline.syncOperations.addHandlers(
                                IdleStateHandler(readTimeout: .seconds(10)), CloseWhenIdle())
                            return try Connection(wrappingChannelSynchronously: channel)
                        }
                    }
            } catch {
                let problem = "\(error)"
                if problem != lastProblem {
                    logger.error("Cannot serve metrics; trying again every 30 s", metadata: [
                        LogKey.metricsListen: "\(endpoint)", LogKey.error: "\(problem)",
                    ])
                    lastProblem = problem
                }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(30)) }
                continue
            }
            logger.notice("Serving metrics", metadata: [LogKey.metricsURL: "http://\(endpoint)/metrics"])
            try? await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { connections in
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            connections.addTask { await answer(connection) }
                        }
                    }
                }
            }
            return
        }
    }

    /// Reads one request and answers it.
    private func answer(_ connection: Connection) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                case .body:
                    continue
                case .end:
                    guard let head else { return }
                    let (status, type, body) = await response(to: head)
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: type)
                    headers.add(name: "Content-Length", value: "\(body.utf8.count)")
                    headers.add(name: "Connection", value: "close")
                    try await outbound.write(.head(HTTPResponseHead(version: head.version, status: status, headers: headers)))
                    if head.method != .HEAD {
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
                    }
                    try await outbound.write(.end(nil))
                    return
                }
            }
        }
    }

    private func response(to head: HTTPRequestHead) async -> (HTTPResponseStatus, String, String) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard path == "/metrics" else {
            return (.notFound, "text/plain; charset=utf-8", "Not found: outbox serves /metrics\n")
        }
        guard head.method == .GET || head.method == .HEAD else {
            return (.methodNotAllowed, "text/plain; charset=utf-8", "Only GET\n")
        }
        do {
            let text = try await metrics.render(store: store, smtpEnabled: state.snapshot.smtpEnabled, now: now())
            return (.ok, OutboxMetrics.contentType, text)
        } catch {
            logger.error("Cannot read the queue for metrics", metadata: [LogKey.error: "\(error)"])
            return (.serviceUnavailable, "text/plain; charset=utf-8", "cannot read the queue: \(error)\n")
        }
    }
}

/// Closes a connection when ``IdleStateHandler`` reports it idle.
private final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
