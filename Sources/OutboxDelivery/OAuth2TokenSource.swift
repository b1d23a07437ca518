import Curl
import Glibc
import OutboxSystem
public import OutboxConfig
public import OutboxCore

/// Gets, caches and refreshes the OAuth2 access token for all delivery lanes.
///
/// One actor on its own serial queue: the HTTPS request (a blocking `curl_easy_perform`) runs
/// there, never on the cooperative pool, and while it runs every other lane waits for its answer
/// instead of asking again — a burst from four workers makes one token request. The token lives
/// in memory only. A rotated refresh token is written to the state directory (0600) and used
/// from then on instead of the configured one, until the configured one changes.
public actor OAuth2TokenSource {
    private let executor = DedicatedQueueExecutor(label: "outbox.oauth2")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public let settings: OAuth2Settings
    private let caFile: String?
    private let connectTimeoutMilliseconds: Int
    private let stateFile: String?
    private let now: @Sendable () -> UnixTime
    private var current: OAuth2Token?
    /// A refused request is not repeated for every queued message: its answer stands this long.
    private var lastFailure: (failure: OAuth2Failure, at: UnixTime)?
    static let failureHold: Duration = .seconds(30)
    /// How many requests went to the token endpoint (for the log and tests of the shared refresh).
    public private(set) var requestCount = 0

    /// - Parameters:
    ///   - stateDirectory: where a rotated refresh token is kept (`oauth2-refresh-token`), or nil.
    public init(settings: OAuth2Settings, caFile: String?, connectTimeout: Duration, stateDirectory: String?,
                now: @escaping @Sendable () -> UnixTime) {
        self.settings = settings
        self.caFile = caFile
        self.connectTimeoutMilliseconds = Int(connectTimeout.wholeMilliseconds)
        self.stateFile = stateDirectory.map { $0 + "/oauth2-refresh-token" }
        self.now = now
    }

    /// A token valid for a while yet: the cached one, or a new one from the endpoint.
    /// - Parameter rejected: the token the SMTP server just refused; it is not handed out again
    ///   (another lane may already have replaced it, then that one is returned without a request).
    public func token(rejected: String? = nil) -> Result<OAuth2Token, OAuth2Failure> {
        let time = now()
        if let current, current.accessToken != rejected, current.isFresh(at: time) {
            return .success(current)
        }
        if rejected == nil, let lastFailure, time - lastFailure.at < Self.failureHold {
            return .failure(lastFailure.failure)
        }
        let result = fetch()
        switch result {
        case .success(let token):
            current = token
            lastFailure = nil
            if let rotated = token.rotatedRefreshToken { keep(rotated) }
        case .failure(let failure):
            current = nil
            lastFailure = (failure, now())
        }
        return result
    }

    // MARK: The request

    private func fetch() -> Result<OAuth2Token, OAuth2Failure> {
        if let missing = settings.missingSecret {
            return .failure(OAuth2Failure(key: missing.key, problem: "not set: \(missing.problem)"))
        }
        requestCount += 1
        var fields = [("client_id", settings.clientID)]
        if let secret = settings.clientSecret { fields.append(("client_secret", secret)) }
        switch settings.grant {
        case .clientCredentials:
            fields.append(("grant_type", "client_credentials"))
        case .refreshToken:
            if let stateFile, access(stateFile, F_OK) == 0, access(stateFile, R_OK) != 0 {
                // Using the configured token here could rotate it away under the daemon (check-config
                // run by an admin): the rotated one is outboxd's, 0600.
                return .failure(OAuth2Failure(
                    key: "smtp.oauth2.refresh_token",
                    problem: "cannot read the rotated refresh token in \(stateFile) (it belongs to outboxd; run this as its user, e.g. sudo -u outbox)"))
            }
            fields.append(("grant_type", "refresh_token"))
            fields.append(("refresh_token", refreshToken ?? ""))
        }
        fields.append(("scope", settings.scope))
        let form = fields.map { "\($0.0)=\(Self.formEncoded($0.1))" }.joined(separator: "&")
        let request = HTTPSFormRequest(url: settings.tokenURL, form: form, caFile: caFile,
                                       connectTimeoutMilliseconds: connectTimeoutMilliseconds, timeoutMilliseconds: 60_000)
        let response: HTTPSResponse
        do {
            response = try EasyHandle().post(request)
        } catch {
            return .failure(OAuth2Failure(key: "smtp.oauth2", problem: "libcurl: \(error)"))
        }
        if let error = response.error {
            return .failure(Self.transportFailure(error, settings: settings))
        }
        return OAuth2Token.parse(status: response.status, body: response.body, settings: settings, now: now())
    }

    /// DNS, connection and TLS failures name the setting behind them.
    static func transportFailure(_ error: CurlError, settings: OAuth2Settings) -> OAuth2Failure {
        let host = settings.tokenURL.dropFirst("https://".count).prefix { $0 != "/" && $0 != ":" }
        switch error.code {
        case 6:
            return OAuth2Failure(key: "smtp.oauth2.token_url",
                                 problem: "cannot resolve \(host) (\(error)); check it, and this host's DNS (/etc/resolv.conf)")
        case 35, 51, 53, 54, 58, 59, 60, 66, 77, 80, 82, 83, 90, 91:
            return OAuth2Failure(key: "smtp.ca_file",
                                 problem: "TLS with \(host) failed (\(error)); its certificate must be trusted by this host or by smtp.ca_file")
        default:
            return OAuth2Failure(key: "smtp.oauth2.token_url", problem: "no answer from \(host) (\(error))")
        }
    }

    static func formEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    // MARK: The rotated refresh token

    /// The stored rotated token when it descends from the configured one, else the configured one.
    private var refreshToken: String? {
        guard let stateFile, let stored = Self.readFile(stateFile) else { return settings.refreshToken }
        // "fingerprint token": a rotated token stands in for the configured one it replaced; a
        // different configured token (the admin pasted a new one) wins.
        let parts = stored.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0] == Self.fingerprint(settings.refreshToken ?? "") else { return settings.refreshToken }
        return parts[1]
    }

    private func keep(_ rotated: String) {
        guard let stateFile else { return }
        Self.writeDurably(stateFile, Self.fingerprint(settings.refreshToken ?? "") + " " + rotated)
    }

    /// FNV-1a 64 of the configured token: tells which one a stored token replaced, without
    /// storing it.
    static func fingerprint(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }

    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let bytes = try? FileDescriptorIO.readAll(fd, upTo: Int.max, path: path) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingNewlines()
        return text.isEmpty ? nil : text
    }

    /// tmp (0600) → write → fsync → rename → fsync the directory (``DurableFile``): a crash leaves
    /// the old or the new, and so does a failure (not reported: the token in use is unaffected).
    static func writeDurably(_ path: String, _ text: String) {
        try? DurableFile.write(Array((text + "\n").utf8), to: path, through: path + ".tmp", permissions: .lessUmask(0o600))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
    fileprivate func trimmingNewlines() -> String {
        var text = self
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
