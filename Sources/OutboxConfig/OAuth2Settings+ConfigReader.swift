import OutboxCore

extension OAuth2Settings {
    /// The keys under `smtp.oauth2:` and their types (see ``OAuth2Settings``).
    static let configKeys: [String: ConfigSchema.ValueType] = [
        "provider": .string, "tenant": .string, "client_id": .string, "client_secret": .secret, "grant": .string,
        "refresh_token": .secret, "token_url": .string, "scope": .string,
    ]

    /// Reads `smtp.oauth2.*`; nil when the section is absent. Checks each key, then that the rest
    /// of `smtp` fits (auth on, password blank, a mailbox as username), each failure one line
    /// naming the key to change.
    init?(reader: ConfigSectionReader, smtp: SMTPSettings) throws(ConfigurationError) {
        func error(_ key: String, _ problem: String) -> ConfigurationError {
            ConfigurationError(source: reader.source, key: key, problem: problem)
        }
        var raw: [String: String] = [:]
        for name in Self.configKeys.keys {
            if let value = try reader.string(name), !value.isEmpty { raw[name] = value }
        }
        // A credential file alone (say a client secret left in $CREDENTIALS_DIRECTORY) does not
        // switch OAuth2 on; any key in the file or environment other than a secret does.
        guard raw.keys.contains(where: { $0 != "client_secret" && $0 != "refresh_token" }) else { return nil }
        guard let providerText = raw["provider"] else {
            throw error("smtp.oauth2.provider", "required when smtp.oauth2 is set: microsoft, google or generic")
        }
        guard let provider = Provider(rawValue: providerText.lowercased()) else {
            throw error("smtp.oauth2.provider", "must be microsoft, google or generic, got \"\(providerText.printableExcerpt)\"")
        }
        var grant: Grant?
        if let text = raw["grant"] {
            guard let value = Grant(rawValue: text.lowercased()) else {
                throw error("smtp.oauth2.grant", "must be client_credentials or refresh_token, got \"\(text.printableExcerpt)\"")
            }
            grant = value
        }
        guard let clientID = raw["client_id"] else {
            throw error("smtp.oauth2.client_id", "required: the app registration's client (application) id")
        }
        if let tenant = raw["tenant"] {
            guard tenant.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) else {
                throw error("smtp.oauth2.tenant", "must be a tenant id or domain, got \"\(tenant.printableExcerpt)\"")
            }
        }
        if provider == .microsoft, raw["tenant"] == nil, raw["token_url"] == nil {
            throw error("smtp.oauth2.tenant", "required for provider microsoft: the Entra tenant id or domain (e.g. example.onmicrosoft.com)")
        }
        if provider == .generic, raw["token_url"] == nil {
            throw error("smtp.oauth2.token_url", "required for provider generic: the provider's token endpoint (https://…)")
        }
        if provider == .generic, raw["scope"] == nil {
            throw error("smtp.oauth2.scope", "required for provider generic: the scope that allows SMTP")
        }
        if let url = raw["token_url"] {
            let lower = url.lowercased()
            guard lower.hasPrefix("https://"), lower.count > 8, !url.contains(where: { $0 == " " || $0.isNewline }) else {
                throw error("smtp.oauth2.token_url", "must be an https:// URL (tokens never travel in clear), got \"\(url.printableExcerpt)\"")
            }
        }
        self.init(provider: provider, tenant: raw["tenant"], clientID: clientID, clientSecret: raw["client_secret"],
                  grant: grant, refreshToken: raw["refresh_token"], tokenURL: raw["token_url"], scope: raw["scope"])
        guard smtp.auth else { throw error("smtp.auth", "must be true when smtp.oauth2 is set (OAuth2 is a way to log in)") }
        guard smtp.password.isEmpty else {
            throw error("smtp.password", "must be blank when smtp.oauth2 is set: the login uses an OAuth2 token, not a password")
        }
        guard !smtp.username.isEmpty else {
            throw error("smtp.username", "required when smtp.oauth2 is set: the mailbox to send as")
        }
    }
}

extension OAuth2Settings {
    /// The secret this grant needs but was not given, as (key, problem); nil when all are there.
    ///
    /// Not part of loading: `outbox list` and the other verbs run without the daemon's
    /// `$CREDENTIALS_DIRECTORY` and must not fail for a secret they never use. outboxd refuses to
    /// start without it (``OutboxConfiguration/load(file:environment:credentialsDirectory:requiringSecrets:)``),
    /// and check-config reports it as the OAuth2 token step.
    public var missingSecret: (key: String, problem: String)? {
        switch grant {
        case .clientCredentials where clientSecret == nil:
            ("smtp.oauth2.client_secret",
             "required for the client_credentials grant; best as the credential file smtp.oauth2.client_secret (LoadCredential=)")
        case .refreshToken where refreshToken == nil:
            ("smtp.oauth2.refresh_token",
             "required for the refresh_token grant; best as the credential file smtp.oauth2.refresh_token (LoadCredential=)")
        case .refreshToken where provider == .google && clientSecret == nil:
            ("smtp.oauth2.client_secret",
             "required for provider google (the OAuth client's secret); best as the credential file smtp.oauth2.client_secret")
        default:
            nil
        }
    }
}

extension OAuth2Settings: CustomStringConvertible, CustomDebugStringConvertible {
    /// The settings without the secrets (service-lifecycle logs its services' descriptions at debug level).
    public var description: String {
        "OAuth2Settings(provider: \(provider.rawValue), tenant: \(tenant ?? "-"), client_id: \(clientID), "
            + "client_secret: \(clientSecret == nil ? "not set" : "<secret>"), grant: \(grant.rawValue), "
            + "refresh_token: \(refreshToken == nil ? "not set" : "<secret>"), token_url: \(tokenURL), scope: \(scope))"
    }
    public var debugDescription: String { description }
}
