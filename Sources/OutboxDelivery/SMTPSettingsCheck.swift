import Curl
import Glibc
public import OutboxConfig
import OutboxCore
import OutboxSystem

/// One line of `outbox check-config`: a step of reaching the SMTP server, and on failure the
/// setting to change.
public struct SettingsCheckStep: Sendable, Hashable {
    public enum Result: Sendable, Hashable { case passed, failed, notUsed }
    /// DNS, TCP, TLS, greeting, EHLO, STARTTLS, certificate, AUTH, ready.
    public var name: String
    public var result: Result
    public var detail: String
    /// For a failure: what to change (a setting, mostly).
    public var fix: String?
    /// For a failure: true when the settings are wrong (not the network or the server's state).
    public var isSettingsProblem = false
}

/// Connects to the configured SMTP server step by step, without sending mail, the way the daemon
/// would (same libcurl options), and says which step failed and what to change.
public enum SMTPSettingsCheck {
    /// Runs the check on a dedicated thread (DNS lookup and libcurl block).
    /// - Parameter hostname: the EHLO name when `smtp.ehlo_name` is not set; the daemon's
    ///   (``HostName/fullyQualified``) unless a test needs another.
    /// - Returns: the steps, up to and including the first failure.
    ///   - stateDirectory: where the daemon keeps a rotated OAuth2 refresh token (the queue
    ///     database's directory), so the check uses the same one.
    public static func run(settings: SMTPSettings, hostname: String = HostName.fullyQualified,
                           stateDirectory: String? = nil) async -> [SettingsCheckStep] {
        await ProbeLane().run(settings: settings, hostname: hostname, stateDirectory: stateDirectory)
    }

    /// The "OAuth2 token" step: the token's expiry and granted scope, never the token.
    static func tokenStep(_ token: Result<OAuth2Token, OAuth2Failure>, settings: OAuth2Settings, now: UnixTime)
        -> SettingsCheckStep
    {
        switch token {
        case .success(let token):
            let minutes = max(Int((token.expiresAt - now).wholeMilliseconds / 60_000), 0)
            return SettingsCheckStep(
                name: "OAuth2 token", result: .passed,
                detail: "\(settings.grant.rawValue) grant from \(settings.tokenURL.printableExcerpt): valid for \(minutes) min, scope \(token.scope ?? "(not stated)")")
        case .failure(let failure):
            return SettingsCheckStep(name: "OAuth2 token", result: .failed, detail: "refused: \(failure.problem)",
                                     fix: "check \(failure.key)", isSettingsProblem: true)
        }
    }

    /// Turns the probe's transcript and libcurl's error into steps (pure; `resolved` is the DNS answer).
    static func steps(settings: SMTPSettings, resolved: String, result: SMTPTransferResult,
                      tokenStep: SettingsCheckStep? = nil) -> [SettingsCheckStep] {
        var steps = [SettingsCheckStep(name: "DNS", result: .passed, detail: "\(settings.host) is \(resolved)")]
        let error = result.error
        let code = error?.code ?? 0
        let replies = result.transcript.replies
        func fail(_ name: String, _ detail: String, fix: String, settings isSettings: Bool = false) -> [SettingsCheckStep] {
            steps + [SettingsCheckStep(name: name, result: .failed, detail: detail, fix: fix, isSettingsProblem: isSettings)]
        }
        let errorText = error.map { "\($0)" } ?? ""
        if code == 7 || (code == 28 && replies.isEmpty && settings.transportProtocol == .smtp) {
            return fail("TCP", "cannot connect to \(settings.host):\(settings.port): \(errorText)",
                        fix: "check smtp.host and smtp.port (\(settings.port)), and that a firewall lets this host reach it")
        }
        steps.append(SettingsCheckStep(name: "TCP", result: .passed, detail: "connected to \(settings.host):\(settings.port)"))

        let certificateFix = "install the server's CA certificate on this host, or (less safe) list \(settings.host) in smtp.ssl_trust"
        let verification = settings.skipsCertificateVerification ? "not verified (smtp.ssl_trust)" : "verified"
        if settings.transportProtocol == .smtps {
            if error?.isTLSFailure == true {
                return fail(code == 60 ? "certificate" : "TLS", errorText,
                            fix: code == 60 ? certificateFix : "check smtp.protocol: smtps needs a port with implicit TLS (465); for 587 use smtp with start_tls",
                            settings: true)
            }
            steps.append(SettingsCheckStep(name: "TLS", result: .passed, detail: "implicit TLS (smtp.protocol smtps), certificate \(verification)"))
        }
        guard let greeting = replies.first(where: { $0.command == nil }) else {
            return fail("greeting", "no greeting from the server: \(errorText)",
                        fix: settings.transportProtocol == .smtp && settings.port == 465
                            ? "port 465 expects implicit TLS: set smtp.protocol to smtps" : "check that smtp.port is an SMTP port")
        }
        guard greeting.code == 220 else {
            return fail("greeting", greeting.text, fix: "the server refuses connections now; try later or ask its admin")
        }
        steps.append(SettingsCheckStep(name: "greeting", result: .passed, detail: greeting.text))
        guard let ehlo = replies.first(where: { $0.command == "EHLO" }), ehlo.code == 250 else {
            return fail("EHLO", replies.first(where: { $0.command == "EHLO" })?.text ?? errorText,
                        fix: "set smtp.ehlo_name to a name the server accepts (this host's fully qualified name)", settings: true)
        }
        steps.append(SettingsCheckStep(name: "EHLO", result: .passed, detail: String(ehlo.text.prefix(60))))

        if settings.transportProtocol == .smtp {
            if settings.startTLS {
                if code == 64 {
                    return fail("STARTTLS", "the server does not offer STARTTLS",
                                fix: "use the server's STARTTLS port (587), or smtp.protocol smtps on 465; smtp.start_tls false sends the password in clear",
                                settings: true)
                }
                if error?.isTLSFailure == true {
                    // The server agreed to STARTTLS; it is the handshake or the certificate that failed.
                    if code == 60, let agreed = replies.first(where: { $0.command == "STARTTLS" && $0.code == 220 }) {
                        steps.append(SettingsCheckStep(name: "STARTTLS", result: .passed, detail: agreed.text))
                    }
                    return fail(code == 60 ? "certificate" : "STARTTLS", errorText,
                                fix: code == 60 ? certificateFix : "check smtp.start_tls and the server's TLS setup", settings: true)
                }
                let reply = replies.first(where: { $0.command == "STARTTLS" })?.text ?? "220"
                steps.append(SettingsCheckStep(name: "STARTTLS", result: .passed, detail: reply))
                steps.append(SettingsCheckStep(name: "certificate", result: .passed, detail: verification))
            } else {
                steps.append(SettingsCheckStep(name: "STARTTLS", result: .notUsed,
                                               detail: "not used (smtp.start_tls is false): mail\(settings.auth ? " and password" : "") go in clear"))
            }
        }

        if settings.auth {
            if let tokenStep {
                guard tokenStep.result == .passed else { return steps + [tokenStep] }
                steps.append(tokenStep)
            }
            let auth = replies.last(where: { $0.command == "AUTH" })
            if code == 67 || (auth.map { $0.code >= 400 || (settings.oauth2 != nil && $0.code == 334 && $0.text != "334") } ?? false) {
                let refusal = replies.last(where: { $0.command == "AUTH" && $0.code >= 500 }) ?? auth
                let text = refusal?.text ?? errorText
                let fix =
                    settings.oauth2 != nil
                    ? "check smtp.username (the mailbox to send as) and that the app may send as it (Microsoft 365: SMTP.SendAsApp, admin consent, mailbox permission for the app's service principal; README, OAuth2)"
                    : text.contains("5.7.139") ? DeliveryOutcome.basicAuthDisabledHint
                    : "check smtp.username and the password (smtp.password, or the credential file /etc/outbox/smtp.password)"
                return fail("AUTH", "login refused: \(text)", fix: fix, settings: true)
            }
            guard let auth, auth.code == 235 else {
                let offered = ehlo.text.uppercased().contains("AUTH")
                if code == 28 {
                    return fail("AUTH", "no answer to the login within smtp.response_timeout: \(errorText)",
                                fix: "check smtp.username and the password (some servers stall on a wrong login)", settings: true)
                }
                if offered {
                    return fail("AUTH", "the login did not complete: \(errorText)",
                                fix: "check smtp.username, the password and smtp.auth_mechanisms", settings: true)
                }
                return fail("AUTH", "the server offered no login (no AUTH in its EHLO reply)",
                            fix: settings.startTLS ? "check that this is the right server" : "many servers offer AUTH only after STARTTLS: set smtp.start_tls true, or smtp.auth false",
                            settings: true)
            }
            steps.append(SettingsCheckStep(name: "AUTH", result: .passed, detail: "logged in as \(settings.username): \(auth.text)"))
        } else {
            steps.append(SettingsCheckStep(name: "AUTH", result: .notUsed, detail: "not used (smtp.auth is false)"))
        }

        if let error {
            return fail("ready", "\(error)", fix: "the server broke off the session; try again, or check its logs")
        }
        steps.append(SettingsCheckStep(name: "ready", result: .passed, detail: "the server accepts commands; no mail was sent"))
        return steps
    }
}

/// Runs the blocking parts (getaddrinfo, curl_easy_perform) on its own serial queue.
actor ProbeLane {
    private let executor = DedicatedQueueExecutor(label: "outbox.smtp.probe")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    func run(settings: SMTPSettings, hostname: String, stateDirectory: String?) async -> [SettingsCheckStep] {
        let resolved: String
        switch Self.resolve(settings.host, port: settings.port) {
        case .success(let addresses): resolved = addresses
        case .failure(let message):
            return [SettingsCheckStep(name: "DNS", result: .failed, detail: "cannot resolve \(settings.host): \(message)",
                                      fix: "check smtp.host, and this host's DNS (/etc/resolv.conf)", isSettingsProblem: false)]
        }
        var tokenStep: SettingsCheckStep?
        var bearer: String?
        if settings.auth, let oauth2 = settings.oauth2 {
            let now: @Sendable () -> UnixTime = { .current }
            let source = OAuth2TokenSource(settings: oauth2, caFile: settings.caFile, connectTimeout: settings.connectTimeout,
                                           stateDirectory: stateDirectory, now: now)
            let token = await source.token()
            tokenStep = SMTPSettingsCheck.tokenStep(token, settings: oauth2, now: now())
            bearer = try? token.get().accessToken
        }
        var request = SMTPTransferRequest(settings: settings, hostname: hostname, bearerToken: bearer)
        if settings.oauth2 != nil, bearer == nil { request.credentials = nil }  // no token: probe up to EHLO only
        let result: SMTPTransferResult
        do {
            result = try EasyHandle().probe(request)
        } catch {
            return [SettingsCheckStep(name: "libcurl", result: .failed, detail: "\(error)", fix: "reinstall libcurl4 (Debian)")]
        }
        return SMTPSettingsCheck.steps(settings: settings, resolved: resolved, result: result, tokenStep: tokenStep)
    }

    enum Resolution { case success(String), failure(String) }

    static func resolve(_ host: String, port: Int) -> Resolution {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, "\(port)", &hints, &list)
        guard status == 0, let list else { return .failure(String(cString: gai_strerror(status))) }
        defer { freeaddrinfo(list) }
        var addresses: [String] = []
        var node: UnsafeMutablePointer<addrinfo>? = list
        while let current = node {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !addresses.contains(text) { addresses.append(text) }
            }
            node = current.pointee.ai_next
        }
        return .success(addresses.joined(separator: ", "))
    }
}
