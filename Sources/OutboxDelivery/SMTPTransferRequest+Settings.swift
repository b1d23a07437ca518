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
    ///   - bearerToken: with `smtp.oauth2`, the access token (``OAuth2TokenSource``); the login is
    ///     then XOAUTH2 only.
    ///   - mailFrom, recipients, body: the transaction; empty for a probe.
    public init(settings: SMTPSettings, hostname: String, bearerToken: String? = nil, mailFrom: String = "",
                recipients: [String] = [], body: any SMTPBodySource = [UInt8]()) {
        let credentials: (String, String, [String])? =
            !settings.auth ? nil
            : settings.oauth2 != nil ? (settings.username, "", ["XOAUTH2"])
            : (settings.username, settings.password, settings.authMechanisms)
        self.init(
            url: settings.curlURL(hostname: hostname),
            requireStartTLS: settings.startTLS && settings.transportProtocol == .smtp,
            skipCertificateVerification: settings.skipsCertificateVerification,
            credentials: credentials,
            mailFrom: mailFrom, recipients: recipients, body: body,
            connectTimeoutMilliseconds: Int(settings.connectTimeout.wholeMilliseconds),
            responseTimeoutSeconds: max(Int(settings.responseTimeout.wholeMilliseconds / 1000), 1))
        caFile = settings.caFile
        self.bearerToken = settings.auth && settings.oauth2 != nil ? bearerToken : nil
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
