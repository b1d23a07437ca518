import Curl
public import OutboxConfig
public import OutboxCore

/// Delivers through libcurl's SMTP client with XNAT's mail settings, one lane (thread, handle,
/// connection) per worker.
public struct CurlSMTPTransport: DeliveryTransport {
    public let settings: SMTPSettings
    private let lanes: [SMTPLane]
    private let ehloName: String
    private let prefix: EmailPrefix

    /// - Parameters:
    ///   - workers: how many lanes; a caller's `lane` index picks one (modulo).
    ///   - hostname: the EHLO name when `smtp.ehlo_name` is not set (the machine's FQDN).
    public init(settings: SMTPSettings, workers: Int, hostname: String) {
        self.settings = settings
        self.lanes = (0..<max(workers, 1)).map { SMTPLane(label: "outbox.smtp.lane\($0)") }
        self.ehloName = settings.ehloName ?? hostname
        self.prefix = EmailPrefix(settings.emailPrefix)
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

    var url: String {
        let host = settings.host.contains(":") && !settings.host.hasPrefix("[") ? "[\(settings.host)]" : settings.host
        return "\(settings.transportProtocol.rawValue)://\(host):\(settings.port)/\(ehloName)"
    }

    public func deliver(_ envelope: Envelope, content: RawMessage, lane: Int) async -> DeliveryOutcome {
        await attempt(envelope, content: content, lane: lane).outcome
    }

    public func attempt(_ envelope: Envelope, content: RawMessage, lane: Int) async -> DeliveryAttempt {
        // libcurl never announces 8BITMIME: send 8-bit bodies quoted-printable.
        let message = SevenBitBody.apply(to: prefix.apply(to: content))
        var request = SMTPTransferRequest(
            url: url,
            requireStartTLS: settings.startTLS && settings.transportProtocol == .smtp,
            skipCertificateVerification: settings.skipsCertificateVerification,
            credentials: settings.auth ? (settings.username, settings.password, settings.authMechanisms) : nil,
            // smtp.envelope_from replaces the MAIL FROM only; the header From stays as written.
            mailFrom: settings.envelopeFrom?.value ?? envelope.sender.value,
            recipients: envelope.recipients.map(\.value),
            body: message.bytes,
            connectTimeoutMilliseconds: Int(settings.connectTimeout.wholeMilliseconds),
            responseTimeoutSeconds: max(Int(settings.responseTimeout.wholeMilliseconds / 1000), 1))
        request.caFile = settings.caFile
        request.maximumConnectionAgeSeconds = max(Int(settings.maximumConnectionAge.wholeMilliseconds / 1000), 1)
        let result = await lanes[lane % lanes.count].send(request)
        let exchange = SMTPExchange(result)
        let outcome = DeliveryOutcome(exchange)
        return DeliveryAttempt(
            outcome: outcome, recipients: exchange.recipientResults(count: envelope.recipients.count, outcome: outcome))
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
                case 35, 51, 53, 54, 58, 59, 60, 66, 77, 80, 82, 83, 90, 91:
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
