/// Every log metadata key outbox writes, in one place: log lines and the journal fields they
/// become (`Systemd`'s `JournalFields` upper-cases them, `outbox.queue_id` → `OUTBOX_QUEUE_ID`,
/// except the few in ``journalFieldNames``). Admins search by these names
/// (`journalctl -u outboxd OUTBOX_QUEUE_ID=42`); changing one is changing an interface.
///
/// Keys are dotted: `outbox.` for ours, `smtp.` for what the relay said or is; `error` alone.
public enum LogKey {
    /// The message's queue id (`outbox show` takes it); journal field `OUTBOX_QUEUE_ID`.
    public static let queueID = "outbox.queue_id"
    /// One recipient's address; journal field `OUTBOX_RECIPIENT`.
    public static let recipient = "outbox.recipient"
    /// The attempt's number, 1-based; journal field `OUTBOX_ATTEMPT`.
    public static let attempt = "outbox.attempt"
    /// The server's reply (or the reason) that decided an attempt; journal field `SMTP_REPLY`.
    public static let smtpReply = "smtp.reply"
    /// The error, as text.
    public static let error = "error"
    /// Why something was refused or held.
    public static let reason = "outbox.reason"
    /// An attempt's ``DeliveryOutcome/Kind``.
    public static let outcome = "outbox.outcome"
    /// How many recipients a message (or transaction) has.
    public static let recipients = "outbox.recipients"
    /// The envelope sender.
    public static let sender = "outbox.sender"
    /// A message's size in bytes.
    public static let size = "outbox.size"
    /// The message's `Message-ID:` field.
    public static let messageID = "outbox.message_id"
    /// The queue id of a failure notice.
    public static let noticeID = "outbox.notice_id"
    /// When a deferred message is tried again (RFC 5322 date).
    public static let nextAttempt = "outbox.next_attempt"
    /// How long something took, in milliseconds.
    public static let durationMilliseconds = "outbox.duration_ms"
    /// How many (of what the line says).
    public static let count = "outbox.count"
    /// How many messages a batch held.
    public static let messages = "outbox.messages"
    /// How many spool files a batch held.
    public static let files = "outbox.files"
    /// A spool file's name (escaped when not printable).
    public static let spoolFile = "outbox.spool_file"
    /// A file or directory path.
    public static let path = "outbox.path"
    /// How long a spool file has not changed.
    public static let unchangedFor = "outbox.unchanged_for"
    /// How long intake waits for a file created in place to stay unchanged once its writer closed it.
    public static let settleTime = "outbox.settle_time"
    /// Spool directories created again.
    public static let recreated = "outbox.recreated"
    /// An SMTP client's address.
    public static let client = "outbox.client"
    /// An address to listen on.
    public static let address = "outbox.address"
    /// The addresses listened on.
    public static let addresses = "outbox.addresses"
    /// Whether systemd passed the listening sockets.
    public static let socketActivated = "outbox.socket_activated"
    /// Where mail goes (`host:port` and TLS mode).
    public static let smtpDestination = "smtp.destination"
    /// The relay's host name (`smtp.host`).
    public static let smtpHost = "smtp.host"
    /// How many delivery workers run.
    public static let workers = "outbox.workers"
    /// How many sent messages (purged).
    public static let sent = "outbox.sent"
    /// How many failed messages (purged).
    public static let failed = "outbox.failed"
    /// Messages the rescue wrote back to the spool.
    public static let requeued = "outbox.requeued"
    /// Held messages the rescue wrote to `failed/`.
    public static let heldToFailed = "outbox.held_to_failed"
    /// Messages the rescue could not write back.
    public static let rescueFailures = "outbox.rescue_failures"
    /// How much of the queue file a start checked.
    public static let check = "outbox.check"
    /// Why the start checked that much.
    public static let checkReason = "outbox.check_reason"
    /// How far the wall clock was stepped, and which way.
    public static let clockStep = "outbox.clock_step"
    /// How long the least recent worker has been silent.
    public static let oldestHeartbeatAge = "outbox.oldest_heartbeat_age"
    /// The address `metrics.listen` names.
    public static let metricsListen = "outbox.metrics_listen"
    /// Where the metrics are served.
    public static let metricsURL = "outbox.metrics_url"
    /// outboxd's version.
    public static let version = "outbox.version"
    /// The configuration file read.
    public static let config = "outbox.config"

    /// The journal fields an admin traces one message by, with fixed names (the rest are derived).
    public static let journalFieldNames: [String: String] = [
        queueID: "OUTBOX_QUEUE_ID",
        recipient: "OUTBOX_RECIPIENT",
        attempt: "OUTBOX_ATTEMPT",
        smtpReply: "SMTP_REPLY",
    ]
}
