public import OutboxConfig
public import OutboxCore

/// An access token and what the endpoint said about it. Lives in memory only; its description
/// never shows the token.
public struct OAuth2Token: Sendable, Hashable, CustomStringConvertible {
    public var accessToken: String
    public var expiresAt: UnixTime
    /// The lifetime the endpoint granted (`expires_in`), for the refresh margin.
    public var lifetime: Duration
    /// The scope the endpoint granted, when it said.
    public var scope: String?
    /// A new refresh token, when the endpoint rotated it.
    public var rotatedRefreshToken: String?

    public init(accessToken: String, expiresAt: UnixTime, lifetime: Duration, scope: String?, rotatedRefreshToken: String?) {
        self.accessToken = accessToken
        self.expiresAt = expiresAt
        self.lifetime = lifetime
        self.scope = scope
        self.rotatedRefreshToken = rotatedRefreshToken
    }

    /// Renewed this long before it expires: a quarter of its lifetime, at most 5 minutes, so a
    /// message never goes out with a token that dies during the login.
    public var refreshMargin: Duration { min(lifetime / 4, .seconds(300)) }

    public func isFresh(at now: UnixTime) -> Bool { now < expiresAt - refreshMargin }

    public var description: String { "OAuth2 token (expires \(expiresAt), scope \(scope ?? "not stated"))" }
}

/// Why no token could be had: a configuration problem, naming the setting to fix and quoting
/// the provider's error code and description.
public struct OAuth2Failure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The setting to fix, e.g. `smtp.oauth2.client_secret`.
    public var key: String
    /// What went wrong, with the provider's words (never a secret).
    public var problem: String

    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }

    /// `OAuth2 token request failed: invalid_client: AADSTS7000222: … — check smtp.oauth2.client_secret`
    public var description: String { "OAuth2 token request failed: \(problem) — check \(key)" }
}

extension OAuth2Token {
    /// Reads a token endpoint's answer (RFC 6749 §5.1 and §5.2; Microsoft and Google follow it).
    /// Pure; `now` stamps the expiry.
    public static func parse(status: Int, body: [UInt8], settings: OAuth2Settings, now: UnixTime)
        -> Result<OAuth2Token, OAuth2Failure>
    {
        let json = try? JSONValue(parsing: body)
        let fields = json?.objectFields ?? [:]
        if (200..<300).contains(status), let token = fields["access_token"]?.stringValue, !token.isEmpty {
            let seconds = fields["expires_in"].flatMap { $0.stringValue.flatMap { Int($0) } ?? $0.numberValue } ?? 3600
            let lifetime = Duration.seconds(max(seconds, 1))
            let refresh = fields["refresh_token"]?.stringValue.flatMap { $0.isEmpty || $0 == settings.refreshToken ? nil : $0 }
            return .success(OAuth2Token(accessToken: token, expiresAt: now + lifetime, lifetime: lifetime,
                                        scope: fields["scope"]?.stringValue, rotatedRefreshToken: refresh))
        }
        guard let code = fields["error"]?.stringValue else {
            let what = (200..<300).contains(status) ? "HTTP \(status) without an access_token" : "HTTP \(status) without an OAuth2 error"
            return .failure(OAuth2Failure(key: "smtp.oauth2.token_url",
                                          problem: "\(what) from \(settings.tokenURL.printableExcerpt)"))
        }
        let description = fields["error_description"]?.stringValue.map { Self.firstLine($0) }
        let quoted = description.map { "\(code.printableExcerpt): \($0)" } ?? code.printableExcerpt
        return .failure(OAuth2Failure(key: settingToFix(code: code, description: description ?? "", settings: settings),
                                      problem: quoted))
    }

    /// The setting an error points at. Microsoft's AADSTS numbers are more precise than the
    /// RFC code (AADSTS7000222 expired secret, 7000215 invalid secret, 90002 unknown tenant,
    /// 700016 unknown application, 70011 bad scope).
    static func settingToFix(code: String, description: String, settings: OAuth2Settings) -> String {
        if description.contains("AADSTS7000222") || description.contains("AADSTS7000215") { return "smtp.oauth2.client_secret" }
        if description.contains("AADSTS90002") || description.contains("AADSTS900023") { return "smtp.oauth2.tenant" }
        if description.contains("AADSTS700016") { return "smtp.oauth2.client_id" }
        if description.contains("AADSTS70011") { return "smtp.oauth2.scope" }
        switch code {
        case "invalid_client": return settings.clientSecret == nil ? "smtp.oauth2.client_id" : "smtp.oauth2.client_secret"
        case "invalid_grant": return settings.secretKey
        case "unauthorized_client": return "smtp.oauth2.client_id"
        case "invalid_scope": return "smtp.oauth2.scope"
        case "unsupported_grant_type": return "smtp.oauth2.grant"
        default: return "smtp.oauth2"
        }
    }

    /// The first line, without control characters, at most 300 characters: Microsoft appends
    /// trace and correlation ids on further lines.
    static func firstLine(_ text: String) -> String {
        text.firstLine.printableExcerpt(maximumLength: 300)
    }
}

extension JSONValue {
    fileprivate var objectFields: [String: JSONValue]? {
        guard case .object(let pairs) = self else { return nil }
        return Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    fileprivate var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    fileprivate var numberValue: Int? {
        if case .number(let text) = self { return Int(text) ?? Double(text).map { Int($0) } }
        return nil
    }
}
