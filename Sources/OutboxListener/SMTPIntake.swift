public import Logging
public import OutboxCore
public import OutboxStore
public import OutboxSMTPServer

/// Turns an SMTP session's message into a queued one: the same ``IncomingMessage`` rules and size
/// limit as spool intake, a `Received:` field naming the client and the queue id, and a group
/// commit — the messages of every session that finishes while a commit runs share the next one
/// (one fsync for a burst). A session answers 250 only after its message's transaction is on disk.
public actor SMTPIntake {
    /// What a session knows about itself, for the message and the log.
    public struct Client: Sendable {
        public var address: String
        public init(address: String) { self.address = address }
    }

    private struct Waiting {
        var submission: QueueStore.SMTPSubmission
        var continuation: CheckedContinuation<Result<QueueID, any Error>, Never>
    }

    private let store: QueueStore
    private let hostname: String
    private let maxMessageSize: Int
    private let logger: Logger
    private let now: @Sendable () -> UnixTime
    private let onQueued: @Sendable () -> Void
    private var waiting: [Waiting] = []
    private var committing = false

    /// - Parameter onQueued: called after each commit (rings the delivery workers' doorbell).
    public init(store: QueueStore, hostname: String, maxMessageSize: Int, logger: Logger,
                now: @escaping @Sendable () -> UnixTime, onQueued: @escaping @Sendable () -> Void) {
        self.store = store
        self.hostname = hostname
        self.maxMessageSize = maxMessageSize
        self.logger = logger
        self.now = now
        self.onQueued = onQueued
    }

    /// Validates and commits one message; returns what to answer the final dot.
    public func commit(_ submission: SMTPServerConversation.Submission, client: Client) async -> SMTPServerConversation.CommitResult {
        let time = now()
        let message: IncomingMessage
        do {
            message = try IncomingMessage(
                smtpContent: submission.content,
                envelope: Envelope(sender: submission.sender, recipients: submission.recipients),
                maxSize: maxMessageSize,
                context: .init(defaultSender: nil, hostname: hostname, now: time, uniqueToken: Self.uniqueToken(now: time)))
        } catch {
            logger.warning("SMTP message refused", metadata: [LogKey.client: "\(client.address)", LogKey.reason: "\(error.reason)"])
            return .rejected(reason: error.reason)
        }
        let trace = ReceivedField(
            heloName: submission.heloName, clientAddress: client.address, hostname: hostname,
            protocolName: submission.usedESMTP ? "ESMTP" : "SMTP",
            recipient: submission.recipients.count == 1 ? submission.recipients[0] : nil, date: time)
        let queued = QueueStore.SMTPSubmission(message: message, source: "smtp \(client.address)") { trace.text(queueID: "\($0)") }
        let result = await withCheckedContinuation { continuation in
            waiting.append(Waiting(submission: queued, continuation: continuation))
            if !committing {
                committing = true
                Task { await self.commitWaiting() }
            }
        }
        switch result {
        case .success(let id):
            logger.info("Message queued", metadata: [
                LogKey.queueID: "\(id)", LogKey.client: "\(client.address)",
                LogKey.messageID: "\(message.content.values(of: "Message-ID").first ?? "")",
                LogKey.sender: "\(message.envelope.sender)", LogKey.recipients: "\(message.envelope.recipients.count)",
                LogKey.size: "\(message.content.bytes.count)",
            ])
            return .queued(queueID: "\(id)")
        case .failure:
            return .temporaryFailure
        }
    }

    /// Commits everything waiting, then whatever arrived during that commit, until nothing waits.
    private func commitWaiting() async {
        while !waiting.isEmpty {
            let batch = waiting
            waiting = []
            do {
                let ids = try await store.enqueue(smtp: batch.map(\.submission), now: now())
                onQueued()
                for (entry, id) in zip(batch, ids) { entry.continuation.resume(returning: .success(id)) }
            } catch {
                logger.error("SMTP intake cannot write to the queue; clients are told to retry (451)",
                             metadata: [LogKey.error: "\(error)", LogKey.messages: "\(batch.count)"])
                for entry in batch { entry.continuation.resume(returning: .failure(error)) }
            }
        }
        committing = false
    }

    /// A Message-ID left part: the time and 64 random bits, both in base 36 (as spool intake).
    private static func uniqueToken(now: UnixTime) -> String {
        "\(String(now.milliseconds, radix: 36)).\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
    }
}

extension Error {
    fileprivate var reason: String { (self as? IncomingMessage.Rejection)?.reason ?? "\(self)" }
}
