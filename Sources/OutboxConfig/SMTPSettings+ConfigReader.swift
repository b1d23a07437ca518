import Foundation
import OutboxCore

extension SMTPSettings {
    /// The keys under `smtp:` and their types (see ``SMTPSettings`` for what each means).
    static let configKeys: [String: ConfigSchema.ValueType] = [
        "enabled": .bool, "host": .string, "port": .int, "username": .string, "password": .secret,
        "protocol": .string, "auth": .bool, "start_tls": .bool, "ssl_trust": .string, "email_prefix": .string,
        "from": .address, "envelope_from": .address, "ehlo_name": .string, "ca_file": .path,
        "auth_mechanisms": .string, "connect_timeout": .duration, "response_timeout": .duration,
        "max_connection_age": .duration, "from_policy": .string,
    ]

    /// The SASL mechanisms `auth_mechanisms` may name.
    static let knownMechanisms: Set<String> = [
        "PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "XOAUTH2", "EXTERNAL", "NTLM", "GSSAPI", "SCRAM-SHA-1", "SCRAM-SHA-256",
    ]

    /// Reads `smtp.*` and `smtp.oauth2.*`, checking each key in turn; throws one line naming the key.
    init(reader: ConfigSectionReader) throws(ConfigurationError) {
        self.init()
        enabled = try reader.bool("enabled") ?? enabled
        host = try reader.string("host") ?? host
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" || $0 == "@" }) else {
            throw reader.error("host", "must be a host name or IP address, got \"\(host.printableExcerpt)\"")
        }
        if let raw = try reader.string("protocol") {
            guard let value = TransportProtocol(rawValue: raw.lowercased()) else {
                throw reader.error("protocol", "must be smtp or smtps, got \"\(raw.printableExcerpt)\"")
            }
            transportProtocol = value
        }
        port = transportProtocol == .smtps ? 465 : 587
        if let port = try reader.int("port") {
            guard (1...65535).contains(port) else {
                throw reader.error("port", "must be a whole number from 1 to 65535, got \(port)")
            }
            self.port = port
        }
        username = try reader.string("username") ?? ""
        password = try reader.string("password") ?? ""
        auth = try reader.bool("auth") ?? false
        startTLS = try reader.bool("start_tls") ?? false
        sslTrust = try reader.string("ssl_trust") ?? ""
        emailPrefix = try reader.string("email_prefix") ?? ""
        from = try reader.address("from")
        envelopeFrom = try reader.address("envelope_from")
        if let caFile = try reader.path("ca_file", blankMeansUnset: true) {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw reader.error("ca_file", "cannot read \(caFile)")
            }
            self.caFile = caFile
        }
        if let name = try reader.string("ehlo_name"), !name.isEmpty {
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "[" || $0 == "]" || $0 == ":" }),
                name.allSatisfy(\.isASCII)
            else {
                throw reader.error("ehlo_name", "must be a host name, got \"\(name.printableExcerpt)\"")
            }
            ehloName = name
        }
        if let mechanisms = try reader.string("auth_mechanisms") {
            let list = mechanisms.split(whereSeparator: { $0 == " " || $0 == "," }).map { $0.uppercased() }
            guard !list.isEmpty, list.allSatisfy(Self.knownMechanisms.contains) else {
                throw reader.error(
                    "auth_mechanisms", "must list SASL mechanisms such as \"PLAIN LOGIN\", got \"\(mechanisms.printableExcerpt)\"")
            }
            authMechanisms = list
        }
        connectTimeout = try reader.duration("connect_timeout") ?? connectTimeout
        responseTimeout = try reader.duration("response_timeout") ?? responseTimeout
        if let age = try reader.duration("max_connection_age") {
            guard age >= .seconds(1) else { throw reader.error("max_connection_age", "must be at least 1s") }
            maximumConnectionAge = age
        }

        oauth2 = try OAuth2Settings(reader: reader.scoped(to: "oauth2"), smtp: self)
        if let policy = try reader.string("from_policy") {
            guard let value = FromPolicy(rawValue: policy.lowercased()) else {
                throw reader.error("from_policy", "must be keep or rewrite, got \"\(policy.printableExcerpt)\"")
            }
            guard value == .keep || from != nil else {
                throw reader.error("from", "required with smtp.from_policy: rewrite: the mailbox every From becomes")
            }
            fromPolicy = value
        }
    }
}
