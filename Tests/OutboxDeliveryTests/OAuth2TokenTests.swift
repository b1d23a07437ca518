import OutboxConfig
import OutboxCore
import OutboxDelivery
import Testing

/// Reading token endpoint answers (RFC 6749 §5.1, §5.2, in Microsoft's and Google's shapes) and
/// the refresh margin. Pure.
@Suite("OAuth2 token answers")
struct OAuth2TokenTests {
    static let microsoft = OAuth2Settings(provider: .microsoft, tenant: "t.example.org", clientID: "c", clientSecret: "s")
    static let google = OAuth2Settings(provider: .google, clientID: "c", clientSecret: "s", refreshToken: "rt-old")
    static let now = UnixTime(seconds: 1_800_000_000)

    static func parse(_ status: Int, _ json: String, _ settings: OAuth2Settings = microsoft) -> Result<OAuth2Token, OAuth2Failure> {
        OAuth2Token.parse(status: status, body: Array(json.utf8), settings: settings, now: now)
    }

    @Test("A token answer gives the token, its expiry from expires_in, the granted scope; a new refresh token counts as rotated")
    func success() throws {
        let token = try Self.parse(200, #"{"token_type":"Bearer","expires_in":3599,"access_token":"AT1","scope":"https://mail.google.com/","refresh_token":"rt-new"}"#, Self.google).get()
        #expect(token.accessToken == "AT1")
        #expect(token.expiresAt == Self.now + .seconds(3599))
        #expect(token.scope == "https://mail.google.com/")
        #expect(token.rotatedRefreshToken == "rt-new")
        let same = try Self.parse(200, #"{"expires_in":"60","access_token":"AT2","refresh_token":"rt-old"}"#, Self.google).get()
        #expect(same.rotatedRefreshToken == nil, "the same refresh token again is no rotation")
        #expect(same.expiresAt == Self.now + .seconds(60), "Microsoft's v1 endpoints send expires_in as a string")
        #expect(!"\(same)".contains("AT2"), "the description never shows the token")
    }

    @Test("Renewed a quarter of its lifetime early, at most 5 minutes early")
    func margin() throws {
        let hour = try Self.parse(200, #"{"expires_in":3600,"access_token":"A"}"#).get()
        #expect(hour.isFresh(at: Self.now + .seconds(3600 - 301)))
        #expect(!hour.isFresh(at: Self.now + .seconds(3600 - 300)))
        let short = try Self.parse(200, #"{"expires_in":8,"access_token":"A"}"#).get()
        #expect(short.isFresh(at: Self.now + .seconds(5)))
        #expect(!short.isFresh(at: Self.now + .seconds(6)))
    }

    @Test("Errors name the setting to fix and quote the provider's code and first line of description",
          arguments: [
            (#"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys for app 'x' are expired.\r\nTrace ID: 1"}"#,
             "smtp.oauth2.client_secret", "invalid_client: AADSTS7000222: The provided client secret keys for app 'x' are expired."),
            (#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'nope' not found."}"#, "smtp.oauth2.tenant", "AADSTS90002"),
            (#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application not found."}"#, "smtp.oauth2.client_id", "unauthorized_client"),
            (#"{"error":"invalid_scope","error_description":"bad scope"}"#, "smtp.oauth2.scope", "invalid_scope: bad scope"),
            (#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#, "smtp.oauth2.refresh_token",
             "invalid_grant: Token has been expired or revoked."),
          ])
    func errors(json: String, key: String, quoted: String) {
        guard case .failure(let failure) = Self.parse(400, json, Self.google) else {
            Issue.record("accepted an error answer")
            return
        }
        #expect(failure.key == key)
        #expect(failure.problem.contains(quoted), "\(failure.problem)")
        #expect(!"\(failure)".contains("\n") && !"\(failure)".contains("\r") && !"\(failure)".contains("Trace ID"))
        #expect("\(failure)".hasSuffix("— check \(key)"))
    }

    @Test("An answer that is not OAuth2 (a proxy's HTML, a 200 without a token) points at smtp.oauth2.token_url")
    func notOAuth2() {
        guard case .failure(let failure) = Self.parse(502, "<html>Bad gateway</html>") else { Issue.record("accepted"); return }
        #expect(failure.key == "smtp.oauth2.token_url")
        #expect(failure.problem.contains("HTTP 502"))
        guard case .failure(let empty) = Self.parse(200, "{}") else { Issue.record("accepted"); return }
        #expect(empty.key == "smtp.oauth2.token_url")
    }
}
