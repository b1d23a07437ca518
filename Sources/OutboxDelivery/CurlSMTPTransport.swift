import Curl
public import OutboxConfig
public import OutboxCore

/// Delivers through libcurl's SMTP client with XNAT's mail settings, one lane (thread, handle,
/// connection) per worker.
public struct CurlSMTPTransport: DeliveryTransport {
    public let settings: SMTPSettings
    private let lanes: [SMTPLane]
    private let hostname: String
    private let prefix: EmailPrefix
    /// With `smtp.from_policy: rewrite`.
    private let fromRewrite: FromRewrite?
    /// With `smtp.oauth2`: the one token cache all lanes share.
    public let tokens: OAuth2TokenSource?

    /// - Parameters:
    ///   - workers: how many lanes; a caller's `lane` index picks one (modulo).
    ///   - hostname: the EHLO name when `smtp.ehlo_name` is not set (the machine's FQDN).
    ///   - tokens: required when `settings.oauth2` is set (the login then uses its tokens).
    public init(settings: SMTPSettings, workers: Int, hostname: String, tokens: OAuth2TokenSource? = nil) {
        self.settings = settings
        self.tokens = settings.oauth2 == nil ? nil : tokens
        self.lanes = (0..<max(workers, 1)).map { SMTPLane(label: "outbox.smtp.lane\($0)") }
        self.hostname = hostname
        self.prefix = EmailPrefix(settings.emailPrefix)
        self.fromRewrite = settings.fromPolicy == .rewrite ? settings.from.map { FromRewrite(mailbox: $0) } : nil
    }

    public func taskExecutor(lane: Int) -> any TaskExecutor {
        lanes[lane % lanes.count].executor
    }

    public func transferProgress(lane: Int) -> UInt64? {
        lanes[lane % lanes.count].progress.count
    }

    public var destination: String {
        var text = "\(settings.host):\(settings.port)"
        if settings.transportProtocol == .smtps { text += " SMTPS" } else if settings.startTLS { text += " STARTTLS" }
        return text
    }

    public func send(_ envelope: Envelope, content: RawMessage, lane: Int) async -> TransactionResult {
        // libcurl never announces 8BITMIME: 8-bit bodies go quoted-printable (large ones base64),
        // re-encoded as they are sent (a 25 MB body is never held a second time, issue 14).
        var message = prefix.apply(to: content)
        if let fromRewrite { message = fromRewrite.apply(to: message) }
        let body = SevenBitWireBody(wire: SevenBitBody.wire(for: message))
        var bearer: String?
        if let tokens {
            switch await tokens.token() {
            case .success(let token): bearer = token.accessToken
            case .failure(let failure):
                return .notAttempted(recipientCount: envelope.recipients.count, reason: "\(failure)")
            }
        }
        // smtp.envelope_from replaces the MAIL FROM only; the header From stays as written.
        // from_policy rewrite sends as the mailbox, envelope included.
        let mailFrom = settings.envelopeFrom?.value ?? fromRewrite?.mailbox.value ?? envelope.sender.value
        func request(bearer: String?) -> SMTPTransferRequest {
            SMTPTransferRequest(
                settings: settings, hostname: hostname, bearerToken: bearer,
                mailFrom: mailFrom,
                recipients: envelope.recipients.map(\.value), body: body)
        }
        let lane = lanes[lane % lanes.count]
        var result = await lane.send(request(bearer: bearer))
        if let tokens, let refused = bearer, Self.isTokenRefused(result) {
            // The server refused a token we thought valid (revoked, or the clock is off): once
            // more with a new one; another lane may already have fetched it.
            switch await tokens.token(rejected: refused) {
            case .success(let token):
                bearer = token.accessToken
                result = await lane.send(request(bearer: bearer))
            case .failure(let failure):
                return .notAttempted(recipientCount: envelope.recipients.count, reason: "\(failure)")
            }
        }
        let exchange = SMTPExchange(result)
        var outcome: DeliveryOutcome?
        if tokens != nil, Self.isTokenRefused(result) || result.error?.code == 67 {
            outcome = .configurationError(reason: Self.tokenRefusalReason(result, outcome: DeliveryOutcome(exchange)))
        }
        return TransactionResult(exchange, recipientCount: envelope.recipients.count, outcome: outcome)
    }

    /// AUTH answered 535, or 334 with an error (Google's base64 JSON, before its 535), or libcurl
    /// gave up on the login (67). libcurl 7.88 sends `AUTH XOAUTH2` without an initial response
    /// (CURLOPT_SASL_IR is off), so an empty `334` is the normal challenge, not a refusal.
    static func isTokenRefused(_ result: SMTPTransferResult) -> Bool {
        let offered = result.transcript.replies.contains { $0.command == "EHLO" && $0.text.uppercased().contains("XOAUTH2") }
        if result.error?.code == 67 && offered { return true }
        return result.transcript.replies.contains { $0.command == "AUTH" && ($0.code == 535 || ($0.code == 334 && $0.text != "334")) }
    }

    static func tokenRefusalReason(_ result: SMTPTransferResult, outcome: DeliveryOutcome) -> String {
        let ehlo = result.transcript.replies.last { $0.command == "EHLO" && $0.code == 250 }?.text ?? ""
        if !ehlo.isEmpty, !ehlo.uppercased().contains("XOAUTH2") {
            return "the server does not offer AUTH XOAUTH2 (\(ehlo.prefix(120))) — check smtp.host (and smtp.start_tls: "
                + "many servers offer AUTH only after STARTTLS), or remove smtp.oauth2"
        }
        let reply = result.transcript.replies.last { $0.code == 535 }?.text ?? result.error.map { "\($0)" } ?? outcome.text
        return "the server refused the OAuth2 token (\(reply)) — check smtp.username (the mailbox to send as) and that "
            + "the app may send as it (Microsoft 365: SMTP.SendAsApp and mailbox permission for the app; README, OAuth2)"
    }
}

/// The send-time wire form as libcurl's body source: its exact length goes into SIZE=, and its
/// bytes are produced as libcurl reads them.
struct SevenBitWireBody: SMTPBodySource {
    let wire: SevenBitWire
    var count: Int { wire.length }
    func makeReader() -> any SMTPBodyReader { Reader(wire.makeStream()) }

    private final class Reader: SMTPBodyReader {
        let stream: SMTPBodyStream
        init(_ stream: SMTPBodyStream) { self.stream = stream }
        func read(into buffer: UnsafeMutableRawBufferPointer) -> Int { stream.read(into: buffer) }
    }
}

extension SMTPExchange {
    /// Translates libcurl's view (command verbs, CURLcode) into the transport-neutral exchange.
    init(_ result: SMTPTransferResult) {
        let replies: [Reply] = result.transcript.replies.compactMap { reply -> Reply? in
            if reply.command == "QUIT" { return nil }
            let stage: SMTPStage =
                switch reply.command {
                case nil: .greeting
                case "EHLO": .ehlo
                case "STARTTLS": .startTLS
                case "AUTH": .auth
                case "MAIL": .mailFrom
                case "RCPT": .recipient
                case "DATA": .data
                case ".": .endOfData
                default: .greeting
                }
            return Reply(stage: stage, code: reply.code, text: reply.text, recipientIndex: reply.recipientIndex)
        }
        var failure: Failure?
        if let error = result.error {
            let detail = error.description
            failure =
                switch error.code {
                case 6: .resolve(detail)
                case 7: .connect(detail)
                case 28: .timeout(detail)
                case 52, 55, 56: .connectionLost(detail)
                case 64: .startTLSNotOffered(detail)
                case _ where error.isTLSFailure:
                    result.certificateNames.isEmpty
                        ? .tls(detail)
                        : .tls("\(detail) (the server's certificate is for \(result.certificateNames.joined(separator: ", ")))")
                case 67: .loginDenied(detail)
                default: .other(detail)
                }
        }
        self.init(replies: replies, bodySent: result.transcript.bodySent, failure: failure)
    }
}
