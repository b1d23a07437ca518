import Curl

/// One delivery lane: one serial queue, one reused easy handle (so one reused SMTP connection).
actor SMTPLane {
    /// The lane's thread: its actor jobs, and the delivery worker that prefers it.
    nonisolated let executor: DedicatedQueueExecutor
    private var handle: EasyHandle?  // not Sendable; never leaves this actor
    /// Whether the handle's last transfer ended well, i.e. it probably holds an open connection.
    private var lastTransferSucceeded = false
    /// Beats while a transfer of this lane is alive (see ``TransferProgress``).
    nonisolated let progress = TransferProgress()
    /// What the handle's connection was opened with.
    private var connectionKey: ConnectionKey?

    /// Everything security-relevant about a connection: host, port, scheme and EHLO name (the
    /// URL), TLS policy, trust and credentials.
    struct ConnectionKey: Hashable {
        var url: String
        var requireStartTLS: Bool
        var skipCertificateVerification: Bool
        var caFile: String?
        var username: String?
        var password: String?
        var mechanisms: [String]?
        var bearerToken: String?

        init(_ request: SMTPTransferRequest) {
            url = request.url
            requireStartTLS = request.requireStartTLS
            skipCertificateVerification = request.skipCertificateVerification
            caFile = request.caFile
            username = request.credentials?.username
            password = request.credentials?.password
            mechanisms = request.credentials?.mechanisms
            bearerToken = request.bearerToken
        }
    }

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init(label: String) {
        executor = DedicatedQueueExecutor(label: label)
    }

    /// Sends through the lane's handle, creating it on first use. Cancelling the calling task
    /// aborts the transfer at libcurl's next progress check.
    func send(_ request: SMTPTransferRequest) async -> SMTPTransferResult {
        let flag = StopFlag()
        return await withTaskCancellationHandler {
            perform(request, stopFlag: flag)
        } onCancel: {
            flag.set()
        }
    }

    private func perform(_ request: SMTPTransferRequest, stopFlag flag: StopFlag) -> SMTPTransferResult {
        let key = ConnectionKey(request)
        if key != connectionKey {
            // Never reuse a connection across TLS policies or credentials (the source of curl's
            // TLS-downgrade advisories): anything security-relevant changed → a new handle.
            handle = nil
            connectionKey = key
        }
        let reused = handle != nil && lastTransferSucceeded
        var result = performOnce(request, stopFlag: flag)
        if reused, !flag.isSet, Self.isStaleConnection(result) {
            // The kept connection had died (idle timeout, a server's 421 on shutdown) before the
            // message went out: curl notices only now. Once more, on a fresh connection.
            handle = nil
            result = performOnce(request, stopFlag: flag)
        }
        lastTransferSucceeded = result.error == nil
        return result
    }

    private func performOnce(_ request: SMTPTransferRequest, stopFlag flag: StopFlag) -> SMTPTransferResult {
        let handle: EasyHandle
        if let existing = self.handle {
            handle = existing
        } else {
            do {
                handle = try EasyHandle()
            } catch {
                return SMTPTransferResult(error: error, transcript: SMTPTranscript())
            }
            self.handle = handle
        }
        return handle.sendMail(request, stop: flag, progress: progress)
    }

    /// A reused connection that failed before the body was sent: closed under us (curl errors
    /// 52 empty reply, 55 send error, 56 receive error) or a 421 "closing" reply.
    static func isStaleConnection(_ result: SMTPTransferResult) -> Bool {
        guard !result.transcript.bodySent else { return false }
        if let code = result.error?.code, [52, 55, 56].contains(code) { return true }
        return result.transcript.replies.contains { $0.code == 421 }
    }

    /// Drops the handle and its connection (after a reload, or a 421).
    func reset() {
        handle = nil
    }
}
