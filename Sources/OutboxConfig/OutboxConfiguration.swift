public import OutboxCore

/// Everything `outboxd` and `outbox` read from `/etc/outbox/outbox.yaml`, validated.
///
/// Built by ``OutboxConfiguration/load(file:environment:credentialsDirectory:)``; every value has
/// passed its check, so the rest of the program never re-validates.
public struct OutboxConfiguration: Sendable, Hashable {
    public var smtp: SMTPSettings
    public var queue: QueueSettings
    public var spool: SpoolSettings
    public var delivery: DeliverySettings
    public var log: LogSettings
    /// The SMTP listener; nil when no `listen.*` key is set (then only a socket passed by systemd listens).
    public var listen: ListenSettings?
    /// The Prometheus endpoint (`metrics:`); off unless `metrics.listen` is set.
    public var metrics = MetricsSettings()
    /// Where the settings came from, for messages: the YAML file's path.
    public var source: String

    public init(
        smtp: SMTPSettings = SMTPSettings(), queue: QueueSettings = QueueSettings(),
        spool: SpoolSettings = SpoolSettings(), delivery: DeliverySettings = DeliverySettings(),
        log: LogSettings = LogSettings(), source: String = "defaults", listen: ListenSettings? = nil
    ) {
        self.listen = listen
        self.smtp = smtp
        self.queue = queue
        self.spool = spool
        self.delivery = delivery
        self.log = log
        self.source = source
    }
}

/// XNAT's "Mail Server Settings", plus what a daemon needs around them. Keys under `smtp:`:
/// - `enabled` (bool, default true): XNAT's smtpEnabled. False keeps queueing and sends nothing.
/// - `host` (string, default localhost): smtpHostname.
/// - `port` (int 1–65535, default 587 for smtp, 465 for smtps): smtpPort.
/// - `username`, `password` (string, may be blank): smtpUsername, smtpPassword. The password is
///   secret and also read from `$CREDENTIALS_DIRECTORY/smtp.password`.
/// - `protocol` (`smtp` | `smtps`, default smtp): smtpProtocol; smtps is implicit TLS.
/// - `auth` (bool, default false): smtpAuth, use SMTP AUTH.
/// - `start_tls` (bool, default false): smtpStartTls, STARTTLS required before AUTH.
/// - `ssl_trust` (string, default ""): smtpSslTrust, hosts whose certificate is not verified; `*` = all.
/// - `email_prefix` (string, default ""): emailPrefix, prepended to every Subject.
/// - `from` (string, default ""): XNAT's siteConfig adminEmail, the sender of mail without one.
/// - `envelope_from` (string, default ""): the MAIL FROM address for every message, for relays that
///   refuse a sender they do not own; the header From stays as written.
/// - `ca_file` (path, default none): extra trusted certificates (PEM), e.g. a site's own CA.
/// - `ehlo_name` (string, default: the machine's name): the name sent in EHLO.
/// - `auth_mechanisms` (string, default "PLAIN LOGIN"): SASL mechanisms curl may use.
/// - `connect_timeout`, `response_timeout` (duration, default 30s, 60s).
/// - `max_connection_age` (duration, default 10m): a kept connection is not reused once this old.
public struct SMTPSettings: Sendable, Hashable {
    public enum TransportProtocol: String, Sendable, Hashable, CaseIterable {
        case smtp, smtps
    }

    public var enabled = true
    public var host = "localhost"
    public var port = 587
    public var username = ""
    public var password = ""
    public var transportProtocol = TransportProtocol.smtp
    public var auth = false
    public var startTLS = false
    public var sslTrust = ""
    public var emailPrefix = ""
    public var from: EmailAddress? = nil
    public var envelopeFrom: EmailAddress? = nil
    public var caFile: String? = nil
    public var ehloName: String? = nil
    public var authMechanisms = ["PLAIN", "LOGIN"]
    public var connectTimeout: Duration = .seconds(30)
    public var responseTimeout: Duration = .seconds(60)
    public var maximumConnectionAge: Duration = .seconds(600)
    /// `from_policy`: what to do with a header From the login may not send as.
    public var fromPolicy = FromPolicy.keep
    /// `smtp.oauth2:` (see ``OAuth2Settings``): log in with XOAUTH2 and a token outboxd obtains.
    public var oauth2: OAuth2Settings? = nil

    public init() {}

    /// The hosts of `ssl_trust`, lowercased.
    public var trustedHosts: [String] {
        sslTrust.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map { $0.lowercased() }
    }

    /// True when the configured host's certificate is accepted without verification.
    public var skipsCertificateVerification: Bool {
        let hosts = trustedHosts
        return hosts.contains("*") || hosts.contains(host.lowercased())
    }
}

/// `smtp.from_policy` (`keep` | `rewrite`, default keep): rewrite makes the header From (and the
/// MAIL FROM, unless `smtp.envelope_from` is set) `smtp.from`, the mailbox outbox logs in as,
/// keeping the author as display name and Reply-To (``FromRewrite``). For Microsoft 365 and
/// Google, which refuse other senders with `550 5.7.60`.
public enum FromPolicy: String, Sendable, Hashable, CaseIterable {
    case keep, rewrite
}

extension SMTPSettings: CustomStringConvertible, CustomDebugStringConvertible {
    /// Every field but the password's value: service-lifecycle logs its services (and so these
    /// settings) at debug level.
    public var description: String {
        let fields = Mirror(reflecting: self).children.map { child in
            let label = child.label ?? "?"
            if label == "password" { return "password: " + (password.isEmpty ? "\"\"" : "<secret>") }
            return "\(label): \(String(reflecting: child.value))"
        }
        return "SMTPSettings(" + fields.joined(separator: ", ") + ")"
    }
    public var debugDescription: String { description }
}

/// Keys under `queue:`:
/// - `database` (path, default /var/lib/outbox/queue.sqlite3).
/// - `keep_sent` (duration, default 7d): a sent message's record (envelope, headers, recipients'
///   results, attempts) is deleted this long after delivery.
/// - `keep_failed` (duration, default 30d): a failed message, content included (so `outbox
///   requeue` works), is deleted this long after it failed.
/// - `keep_sent_content` (bool, default false): keep a sent message's body until its record is
///   deleted; by default only its headers remain once it is delivered.
public struct QueueSettings: Sendable, Hashable {
    public var database = "/var/lib/outbox/queue.sqlite3"
    public var keepSent: Duration = .seconds(7 * 86_400)
    public var keepFailed: Duration = .seconds(30 * 86_400)
    public var keepSentContent = false
    public init() {}
}

/// Keys under `spool:`:
/// - `directory` (path, default /var/spool/outbox): holds tmp/, new/ and failed/.
/// - `rescan_interval` (duration, default 30s): full rescan in case an inotify event was lost.
/// - `max_message_size` (int bytes, default 25 MB).
public struct SpoolSettings: Sendable, Hashable {
    public var directory = "/var/spool/outbox"
    public var rescanInterval: Duration = .seconds(30)
    public var maxMessageSize = 25 * 1024 * 1024
    public init() {}
}

/// Keys under `delivery:`:
/// - `workers` (int 1–64, default 4): parallel SMTP connections.
/// - `first_retry` (duration, default 5m), `max_retry_delay` (default 1h), `backoff_factor`
///   (int ≥ 1, default 2), `lifetime` (default 5d): see ``RetryPolicy``.
/// - `rate_limit` (int ≥ 1, optional, default unlimited): at most this many messages a minute.
/// - `failure_notice_to` (address, optional): gets a short notice of each recipient that failed
///   for good (never about a notice).
/// - `max_recipients_per_transaction` (int 1–10000, default 100): a message with more recipients
///   goes out in several SMTP transactions (Postfix uses 50); each recipient's result is kept, so
///   a retry never repeats one already delivered.
public struct DeliverySettings: Sendable, Hashable {
    public var workers = 4
    public var maxRecipientsPerTransaction = 100
    public var rateLimit: Int? = nil
    public var failureNoticeTo: EmailAddress? = nil
    public var retry = RetryPolicy()
    public init() {}
}

/// Keys under `log:`: `level` (trace|debug|info|notice|warning|error|critical, default info).
public struct LogSettings: Sendable, Hashable {
    public var level = "info"
    public init() {}
}
