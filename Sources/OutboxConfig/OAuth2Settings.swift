/// How outboxd logs in with OAuth2 (SASL XOAUTH2): the app registration's values, from which it
/// gets, caches and refreshes the access token itself. Keys under `smtp.oauth2:`:
/// - `provider` (`microsoft` | `google` | `generic`, required): sets the defaults below.
/// - `tenant` (string, microsoft): the Entra tenant id or domain, part of the token URL.
/// - `client_id` (string, required): the app registration's (OAuth client's) id.
/// - `client_secret` (string, secret): best as the systemd credential `smtp.oauth2.client_secret`
///   (`$CREDENTIALS_DIRECTORY`); required for client_credentials and for google.
/// - `grant` (`client_credentials` | `refresh_token`; microsoft and generic default to
///   client_credentials, google to refresh_token).
/// - `refresh_token` (string, secret, credential `smtp.oauth2.refresh_token`): required for the
///   refresh_token grant. A rotated one kept in the state directory is preferred (README).
/// - `token_url` (https URL; derived for microsoft and google, required for generic).
/// - `scope` (string; microsoft `https://outlook.office365.com/.default` for client_credentials,
///   `https://outlook.office.com/SMTP.Send offline_access` for refresh_token; google
///   `https://mail.google.com/`; required for generic).
///
/// With `oauth2` set, `smtp.auth` must be true, `smtp.password` blank and `smtp.username` the
/// mailbox to send as.
public struct OAuth2Settings: Sendable, Hashable {
    public enum Provider: String, Sendable, Hashable, CaseIterable { case microsoft, google, generic }
    public enum Grant: String, Sendable, Hashable, CaseIterable {
        case clientCredentials = "client_credentials"
        case refreshToken = "refresh_token"
    }

    public var provider: Provider
    public var tenant: String?
    public var clientID: String
    public var clientSecret: String?
    public var grant: Grant
    public var refreshToken: String?
    public var tokenURL: String
    public var scope: String

    public init(provider: Provider, tenant: String? = nil, clientID: String, clientSecret: String? = nil,
                grant: Grant? = nil, refreshToken: String? = nil, tokenURL: String? = nil, scope: String? = nil) {
        self.provider = provider
        self.tenant = tenant
        self.clientID = clientID
        self.clientSecret = clientSecret
        let grant = grant ?? Self.defaultGrant(for: provider)
        self.grant = grant
        self.refreshToken = refreshToken
        self.tokenURL = tokenURL ?? Self.defaultTokenURL(for: provider, tenant: tenant) ?? ""
        self.scope = scope ?? Self.defaultScope(for: provider, grant: grant) ?? ""
    }

    public static func defaultGrant(for provider: Provider) -> Grant {
        provider == .google ? .refreshToken : .clientCredentials
    }

    /// Microsoft's v2.0 endpoint for the tenant; Google's one endpoint; none for generic.
    public static func defaultTokenURL(for provider: Provider, tenant: String?) -> String? {
        switch provider {
        case .microsoft: tenant.map { "https://login.microsoftonline.com/\($0)/oauth2/v2.0/token" }
        case .google: "https://oauth2.googleapis.com/token"
        case .generic: nil
        }
    }

    public static func defaultScope(for provider: Provider, grant: Grant) -> String? {
        switch (provider, grant) {
        case (.microsoft, .clientCredentials): "https://outlook.office365.com/.default"
        case (.microsoft, .refreshToken): "https://outlook.office.com/SMTP.Send offline_access"
        case (.google, _): "https://mail.google.com/"
        case (.generic, _): nil
        }
    }

    /// The setting an admin changes when the token endpoint refuses the client: the secret for
    /// client_credentials, the refresh token for the refresh_token grant.
    public var secretKey: String {
        grant == .clientCredentials ? "smtp.oauth2.client_secret" : "smtp.oauth2.refresh_token"
    }
}
