public import Curl
public import OutboxConfig
import OutboxCore

extension SMTPTransferRequest {
    /// The one place where XNAT's mail settings become a libcurl request: the daemon's deliveries
    /// and `outbox check-config`'s probe both start here, so they cannot drift apart (URL and EHLO
    /// name, TLS policy, trust and `smtp.ca_file`, login, timeouts).
    ///
    /// - Parameters:
    ///   - hostname: the EHLO name when `smtp.ehlo_name` is not set (``HostName/fullyQualified``).
    ///   - mailFrom, recipients, body: the transaction; empty for a probe.
    public init(settings: SMTPSettings, hostname: String, mailFrom: String = "", recipients: [String] = [],
                body: [UInt8] = []) {
        self.init(
            url: settings.curlURL(hostname: hostname),
            requireStartTLS: settings.startTLS && settings.transportProtocol == .smtp,
            skipCertificateVerification: settings.skipsCertificateVerification,
            credentials: settings.auth ? (settings.username, settings.password, settings.authMechanisms) : nil,
            mailFrom: mailFrom, recipients: recipients, body: body,
            connectTimeoutMilliseconds: Int(settings.connectTimeout.wholeMilliseconds),
            responseTimeoutSeconds: max(Int(settings.responseTimeout.wholeMilliseconds / 1000), 1))
        caFile = settings.caFile
        maximumConnectionAgeSeconds = max(Int(settings.maximumConnectionAge.wholeMilliseconds / 1000), 1)
    }
}

extension SMTPSettings {
    /// The name this host gives in EHLO: `smtp.ehlo_name`, else `hostname`.
    public func ehloName(hostname: String) -> String { ehloName ?? hostname }

    /// `smtp://host:port/ehlo-name` (or `smtps://`): libcurl sends the URL path as the EHLO domain.
    public func curlURL(hostname: String) -> String {
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(transportProtocol.rawValue)://\(bracketed):\(port)/\(ehloName(hostname: hostname))"
    }
}
