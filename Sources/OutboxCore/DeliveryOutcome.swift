/// What one delivery attempt means for a message, decided from what the server said.
///
/// Three kinds, like nullmailer's temporary/permanent split plus one: a problem with *our*
/// settings (login refused, certificate not trusted) is never turned into a permanent failure of
/// the users' mail; it is retried and shouted about. When in doubt the outcome is temporary: a
/// wrong "temporary" costs a retry, a wrong "permanent" loses mail.
public enum DeliveryOutcome: Sendable, Hashable {
    case delivered(reply: String)
    case temporaryFailure(reason: String)
    case permanentFailure(reason: String)
    case configurationError(reason: String)

    public enum Kind: Sendable, Hashable { case delivered, temporary, permanent, configuration }

    public var kind: Kind {
        switch self {
        case .delivered: .delivered
        case .temporaryFailure: .temporary
        case .permanentFailure: .permanent
        case .configurationError: .configuration
        }
    }

    /// The reply or reason, for `last_error` and the attempt history.
    public var text: String {
        switch self {
        case .delivered(let s), .temporaryFailure(let s), .permanentFailure(let s), .configurationError(let s): s
        }
    }

    /// Classifies the SMTP reply that ended a transaction at `stage`.
    ///
    /// 2xx after the final dot is delivery; 4xx anywhere is temporary; 5xx to MAIL FROM, RCPT TO
    /// or DATA refuses this message; 5xx before that (greeting, EHLO, STARTTLS, AUTH) means our
    /// settings or the server are wrong, not the mail.
    public init(smtpReplyCode code: Int, text: String, stage: SMTPStage) {
        switch code {
        case 200..<400 where stage == .endOfData:
            self = .delivered(reply: text)
        case 530:
            self = .configurationError(
                reason: "\(text) — the server requires authentication: set smtp.auth: true and smtp.username / smtp.password")
        case 500..<600 where text.contains("5.7.60") || text.contains("SendAsDenied"):
            // Microsoft 365 / Google: the login may not send as this From. Every message from this
            // author would fail the same way: our settings, not the users' mail.
            self = .configurationError(reason: "\(text) — the relay refuses this sender for the login: set smtp.from_policy: rewrite (From becomes smtp.from, the mailbox), or give the login send-as permission")
        case 500..<600:
            switch stage {
            case .mailFrom, .recipient, .data, .endOfData:
                self = .permanentFailure(reason: text)
            case .auth where text.contains("5.7.139"):
                // Exchange Online with Basic authentication disabled: no password will do.
                self = .configurationError(reason: "authentication failed (\(text)) — \(Self.basicAuthDisabledHint)")
            case .auth:
                self = .configurationError(reason: "authentication failed (\(text)) — check smtp.username / smtp.password")
            case .connect, .greeting, .ehlo, .startTLS:
                self = .configurationError(reason: text)
            }
        default:
            self = .temporaryFailure(reason: text)
        }
    }
}

extension DeliveryOutcome {
    /// What to do when a server answers password AUTH with 5.7.139 (Microsoft 365 after Basic
    /// authentication was switched off).
    public static let basicAuthDisabledHint =
        "the server no longer accepts passwords (basic authentication is disabled): log in with OAuth2, "
        + "set smtp.oauth2 (README, \"OAuth2: Microsoft 365\")"
}

/// The step of an SMTP transaction a reply answers.
public enum SMTPStage: String, Sendable, Hashable {
    case connect, greeting, ehlo, startTLS, auth, mailFrom, recipient, data, endOfData
}
