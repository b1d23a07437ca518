import OutboxCore

/// XNAT's mail settings, read from its own INI files, and the equivalent outbox YAML.
///
/// XNAT reads `[notifications]` keys under their canonical names (smtpEnabled, smtpHostname,
/// smtpPort, smtpUsername, smtpPassword, smtpProtocol, smtpAuth, smtpStartTls, smtpSslTrust,
/// emailPrefix) or the short aliases hostname, port, protocol, username, password, and
/// `[siteConfig] adminEmail` as the site's sender. `prefs-override.ini` wins over `prefs-init.ini`;
/// within one file the canonical name wins over its alias.
public struct XNATPreferences: Sendable, Hashable {
    /// A value XNAT would accept that outbox cannot express (a port of "abc").
    public struct ImportError: Error, Sendable, Hashable, CustomStringConvertible {
        public var key: String
        public var problem: String
        public var description: String { "\(key): \(problem)" }
    }

    /// outbox key (under `smtp.`) ← XNAT's canonical name and alias, in output order.
    static let mapping: [(outbox: String, section: String, canonical: String, alias: String?)] = [
        ("enabled", "notifications", "smtpEnabled", nil),
        ("host", "notifications", "smtpHostname", "hostname"),
        ("port", "notifications", "smtpPort", "port"),
        ("username", "notifications", "smtpUsername", "username"),
        ("protocol", "notifications", "smtpProtocol", "protocol"),
        ("auth", "notifications", "smtpAuth", nil),
        ("start_tls", "notifications", "smtpStartTls", nil),
        ("ssl_trust", "notifications", "smtpSslTrust", nil),
        ("email_prefix", "notifications", "emailPrefix", nil),
        ("from", "siteConfig", "adminEmail", nil),
    ]

    /// The files, most important first (override, then init).
    let documents: [INIDocument]

    /// `override` wins over `initial`.
    public init(initial: INIDocument, override: INIDocument? = nil) {
        documents = [override, initial].compactMap { $0 }
    }

    /// The first file (by precedence) that sets the canonical name or its alias decides.
    func value(section: String, canonical: String, alias: String?) -> String? {
        for document in documents {
            if let value = document[section, canonical] { return value }
            if let alias, let value = document[section, alias] { return value }
        }
        return nil
    }

    /// True when XNAT's files hold an SMTP password (which the YAML leaves out).
    public var hasPassword: Bool {
        guard let password = value(section: "notifications", canonical: "smtpPassword", alias: "password") else { return false }
        return !password.isEmpty
    }

    /// The `smtp:` settings as outbox YAML, with a header saying where they came from and where
    /// the password goes. Keys XNAT's files do not set are left out (outbox's defaults apply).
    /// - Throws: ``ImportError`` for a boolean, port or protocol outbox would refuse.
    public func yaml(sources: [String]) throws(ImportError) -> String {
        var lines = [
            "# outbox configuration imported from XNAT's \(sources.joined(separator: " and ")) by `outbox import-xnat`.",
            "# Review it, then install it as /etc/outbox/outbox.yaml.",
        ]
        if hasPassword {
            lines += [
                "# The SMTP password (smtpPassword) was NOT copied. Put it in /etc/outbox/smtp.password",
                "# (mode 0600, owner root; the systemd unit loads it as the credential smtp.password),",
                "# or give it in the environment as OUTBOX_SMTP_PASSWORD.",
            ]
        }
        lines.append("smtp:")
        for entry in Self.mapping {
            guard let raw = value(section: entry.section, canonical: entry.canonical, alias: entry.alias) else { continue }
            let key = "smtp.\(entry.outbox)"
            let rendered: String
            switch ConfigSchema.keys[key] {
            case .bool?:
                guard let value = BooleanSetting.parse(raw) else {
                    throw ImportError(key: entry.canonical, problem: "expected true or false, got \"\(raw)\"")
                }
                rendered = "\(value)"
            case .int?:
                guard let port = Int(raw), (1...65_535).contains(port) else {
                    throw ImportError(key: entry.canonical, problem: "expected a port from 1 to 65535, got \"\(raw)\"")
                }
                rendered = "\(port)"
            default:
                if entry.outbox == "protocol" {
                    guard ["smtp", "smtps"].contains(raw.lowercased()) else {
                        throw ImportError(key: entry.canonical, problem: "expected smtp or smtps, got \"\(raw)\"")
                    }
                    rendered = raw.lowercased()
                } else {
                    rendered = Self.quoted(raw)
                }
            }
            lines.append("  \(entry.outbox): \(rendered)".padding(toWidth: 32) + "# XNAT \(entry.section == "siteConfig" ? "[siteConfig] " : "")\(entry.canonical)")
        }
        let host = value(section: "notifications", canonical: "smtpHostname", alias: "hostname")?.lowercased()
        if let host, let stub = Self.oauth2Stub(host: host) { lines += stub }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A commented `oauth2:` block for the two big providers, whose password logins are going
    /// away (README, "OAuth2").
    static func oauth2Stub(host: String) -> [String]? {
        switch host {
        case "smtp.office365.com":
            return [
                "  # Microsoft 365 turns off password (Basic) SMTP AUTH: log in with OAuth2 instead",
                "  # (README, \"OAuth2: Microsoft 365\"). Then set auth: true, leave password out, and put",
                "  # the client secret in /etc/outbox/smtp.oauth2.client_secret (credential).",
                "  # oauth2:",
                "  #   provider: microsoft",
                "  #   tenant: example.onmicrosoft.com",
                "  #   client_id: 00000000-0000-0000-0000-000000000000",
            ]
        case "smtp.gmail.com":
            return [
                "  # Google discourages app passwords for servers: log in with OAuth2 instead",
                "  # (README, \"OAuth2: Google Workspace\"). Then set auth: true, leave password out, and put",
                "  # the client secret and refresh token in /etc/outbox/smtp.oauth2.client_secret and",
                "  # /etc/outbox/smtp.oauth2.refresh_token (credentials).",
                "  # oauth2:",
                "  #   provider: google",
                "  #   client_id: 000000000000-xxxxxxxx.apps.googleusercontent.com",
            ]
        default:
            return nil
        }
    }

    /// A YAML double-quoted scalar: any text survives (quotes, backslashes, `#`, control characters).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension String {
    fileprivate func padding(toWidth width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
