public import CCurl

/// A libcurl failure: the `CURLcode` and libcurl's words for it.
///
/// Descriptions carry no addresses or passwords; the SMTP replies are kept apart in
/// ``SMTPTranscript``.
public struct CurlError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var message: String

    public init(code: CURLcode, detail: String?) {
        self.code = Int(code.rawValue)
        let text = detail.flatMap { $0.isEmpty ? nil : $0 } ?? String(cString: curl_easy_strerror(code))
        self.message = text
    }

    /// `curl error 67: Login denied`
    public var description: String { "curl error \(code): \(message)" }

    /// Whether the TLS handshake or the certificate check failed (the one list of these codes).
    public var isTLSFailure: Bool { Self.tlsFailureCodes.contains(code) }

    /// SSL_CONNECT_ERROR, PEER_FAILED_VERIFICATION, SSL_ENGINE_*, SSL_CERTPROBLEM, SSL_CIPHER,
    /// SSL_CACERT_BADFILE, SSL_SHUTDOWN_FAILED, SSL_CRL_BADFILE, SSL_ISSUER_ERROR,
    /// SSL_PINNEDPUBKEYNOTMATCH, SSL_INVALIDCERTSTATUS, and the TLS-related 54/66/77.
    private static let tlsFailureCodes: Set<Int> = [35, 51, 53, 54, 58, 59, 60, 66, 77, 80, 82, 83, 90, 91]
}
