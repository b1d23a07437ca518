import Curl
import OutboxConfig
import OutboxDelivery
import Testing

/// The one constructor that turns settings into a libcurl request, used by the daemon's deliveries
/// and by `outbox check-config` alike.
@Suite("Settings → libcurl request")
struct TransferRequestTests {
    static func settings(_ change: (inout SMTPSettings) -> Void = { _ in }) -> SMTPSettings {
        var settings = SMTPSettings()
        settings.host = "mail.example.org"
        settings.port = 587
        change(&settings)
        return settings
    }

    @Test("The URL carries scheme, host, port and the EHLO name: the given FQDN unless smtp.ehlo_name is set")
    func url() {
        #expect(SMTPTransferRequest(settings: Self.settings(), hostname: "xnat.example.org").url
            == "smtp://mail.example.org:587/xnat.example.org")
        let named = Self.settings { $0.ehloName = "relay-client.example.org"; $0.transportProtocol = .smtps; $0.port = 465 }
        #expect(SMTPTransferRequest(settings: named, hostname: "xnat.example.org").url
            == "smtps://mail.example.org:465/relay-client.example.org")
        #expect(SMTPTransferRequest(settings: Self.settings { $0.host = "::1" }, hostname: "h.example.org").url
            == "smtp://[::1]:587/h.example.org")
    }

    @Test("smtp.ca_file reaches CURLOPT_CAINFO, for a probe as for a delivery")
    func caFile() {
        let settings = Self.settings { $0.caFile = "/etc/outbox/site-ca.pem" }
        #expect(SMTPTransferRequest(settings: settings, hostname: "h").caFile == "/etc/outbox/site-ca.pem")
        #expect(SMTPTransferRequest(settings: settings, hostname: "h", mailFrom: "a@b.org", recipients: ["c@d.org"]).caFile
            == "/etc/outbox/site-ca.pem")
        #expect(SMTPTransferRequest(settings: Self.settings(), hostname: "h").caFile == nil)
    }

    @Test("STARTTLS is required only for smtp:// with start_tls; ssl_trust skips verification only for a listed host")
    func tlsPolicy() {
        #expect(SMTPTransferRequest(settings: Self.settings { $0.startTLS = true }, hostname: "h").requireStartTLS)
        #expect(!SMTPTransferRequest(settings: Self.settings { $0.startTLS = false }, hostname: "h").requireStartTLS)
        #expect(!SMTPTransferRequest(settings: Self.settings { $0.startTLS = true; $0.transportProtocol = .smtps }, hostname: "h")
            .requireStartTLS)
        #expect(SMTPTransferRequest(settings: Self.settings { $0.sslTrust = "other.org MAIL.example.org" }, hostname: "h")
            .skipCertificateVerification)
        #expect(!SMTPTransferRequest(settings: Self.settings { $0.sslTrust = "other.org" }, hostname: "h")
            .skipCertificateVerification)
    }

    @Test("Credentials only with smtp.auth true, with the pinned mechanisms; timeouts and connection age in curl's units")
    func loginAndTimeouts() {
        let off = SMTPTransferRequest(settings: Self.settings { $0.username = "u"; $0.password = "p" }, hostname: "h")
        #expect(off.credentials == nil)
        let on = SMTPTransferRequest(
            settings: Self.settings { $0.auth = true; $0.username = "u"; $0.password = "p"; $0.authMechanisms = ["LOGIN"] },
            hostname: "h")
        #expect(on.credentials?.username == "u")
        #expect(on.credentials?.password == "p")
        #expect(on.credentials?.mechanisms == ["LOGIN"])
        let timed = SMTPTransferRequest(
            settings: Self.settings {
                $0.connectTimeout = .milliseconds(1500); $0.responseTimeout = .milliseconds(200)
                $0.maximumConnectionAge = .seconds(90)
            }, hostname: "h")
        #expect(timed.connectTimeoutMilliseconds == 1500)
        #expect(timed.responseTimeoutSeconds == 1, "never 0, which would mean no timeout")
        #expect(timed.maximumConnectionAgeSeconds == 90)
    }

    @Test("A delivery carries its envelope and body; a probe carries none")
    func transaction() {
        let probe = SMTPTransferRequest(settings: Self.settings(), hostname: "h")
        #expect(probe.mailFrom.isEmpty && probe.recipients.isEmpty && probe.body.isEmpty)
        let mail = SMTPTransferRequest(settings: Self.settings(), hostname: "h", mailFrom: "a@b.org",
                                       recipients: ["c@d.org", "e@f.org"], body: Array("x\r\n".utf8))
        #expect(mail.mailFrom == "a@b.org" && mail.recipients == ["c@d.org", "e@f.org"] && mail.body.count == 3)
    }
}
