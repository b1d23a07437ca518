import Logging
import OutboxCore
import NIOCore
import OutboxSMTPServer

/// Asks a session to end: answered 421 at once, or right after the message being committed.
struct ShutdownSessionEvent: Sendable {}

/// One SMTP connection: feeds the bytes it reads to an ``SMTPServerConversation`` and carries out
/// what the conversation returns. Thin on purpose — every protocol decision is in the pure state
/// machine. Replies are written as they come and flushed once per read, so a pipelined group of
/// commands gets its replies in one segment. Commits leave the event loop (``SMTPIntake`` writes
/// through the store's own queue); while one runs, the handler stops reading, so a client cannot
/// make the session buffer without bound.
final class SMTPSessionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var conversation: SMTPServerConversation
    private let intake: SMTPIntake
    private let client: SMTPIntake.Client
    private let logger: Logger
    private var closing = false
    private var shutdownRequested = false

    init(limits: SMTPServerConversation.Limits, intake: SMTPIntake, client: SMTPIntake.Client, logger: Logger) {
        self.logger = logger
        self.conversation = SMTPServerConversation(limits: limits)
        self.intake = intake
        self.client = client
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(conversation.greeting(), context: context)
        context.flush()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        perform(conversation.receive(buffer.readableBytesView), context: context)
        if shutdownRequested { perform(conversation.shutdown(), context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            perform(conversation.idleTimeout(), context: context)
            context.flush()
        } else if event is ShutdownSessionEvent {
            shutdownRequested = true
            perform(conversation.shutdown(), context: context)
            context.flush()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset by the client or a failed write: nothing to answer; whatever was not committed
        // stays with the client.
        logger.info("SMTP session ended by an error", metadata: [LogKey.client: "\(client.address)", LogKey.error: "\(error)"])
        context.close(promise: nil)
    }

    private func perform(_ actions: [SMTPServerConversation.Action], context: ChannelHandlerContext) {
        for action in actions {
            guard !closing else { return }
            switch action {
            case .reply(let reply):
                context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: reply.bytes)), promise: nil)
            case .close:
                closing = true
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).assumeIsolated()
                    .whenComplete { _ in context.close(promise: nil) }
            case .submit(let submission):
                context.flush()
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
                let promise = context.eventLoop.makePromise(of: SMTPServerConversation.CommitResult.self)
                let intake = intake, client = client
                promise.completeWithTask { await intake.commit(submission, client: client) }
                promise.futureResult.assumeIsolated().whenSuccess { result in
                    self.committed(result, context: context)
                }
            }
        }
    }

    private func committed(_ result: SMTPServerConversation.CommitResult, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }  // the client left; the message is queued all the same
        perform(conversation.commitFinished(result), context: context)
        if shutdownRequested { perform(conversation.shutdown(), context: context) }
        context.flush()
        if !conversation.isCommitting && !closing {
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            context.read()
        }
    }
}
