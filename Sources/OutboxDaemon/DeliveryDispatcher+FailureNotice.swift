import Logging
import OutboxConfig
import OutboxCore
import OutboxStore

extension DeliveryDispatcher {
    /// Queues a ``FailureNotice`` to `delivery.failure_notice_to` for the recipients this attempt
    /// failed for good — unless the message is itself a notice (no notice about a notice).
    func queueFailureNotice(for message: ClaimedMessage, attempt: Int, failed: [FailureNotice.Failure], logger: Logger) async {
        guard let to = delivery.failureNoticeTo, !failed.isEmpty, !FailureNotice.isNotice(message.content) else { return }
        let notice = FailureNotice(
            queueID: "\(message.id)",
            subject: message.content.fields.first { $0.name.lowercased() == "subject" }?.value,
            sender: message.envelope.sender.value, failures: failed)
        let from = smtp.from ?? to
        do {
            let incoming = try IncomingMessage(
                eml: Array(notice.message(from: from, to: to).utf8),
                context: .init(defaultSender: from, hostname: String(to.value.split(separator: "@").last ?? "localhost"),
                               now: now(), uniqueToken: "failure-\(message.id)-\(attempt)"))
            // Keyed like a spool file, so recording the same failure twice queues one notice.
            let result = try await store.enqueue(incoming, spoolName: "failure-notice:\(message.id):\(attempt)", now: now())
            logger.info("Failure notice queued", metadata: [LogKey.noticeID: "\(result.queueID)"])
        } catch {
            logger.error("Cannot queue a failure notice", metadata: [LogKey.error: "\(error)"])
        }
    }
}
