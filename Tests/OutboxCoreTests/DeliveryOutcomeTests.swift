import OutboxCore
import Testing

@Suite("Delivery outcome classification")
struct DeliveryOutcomeTests {
    typealias Reply = SMTPExchange.Reply

    let happyStart: [Reply] = [
        Reply(stage: .greeting, code: 220, text: "220 hi"), Reply(stage: .ehlo, code: 250, text: "250 ok"),
        Reply(stage: .mailFrom, code: 250, text: "250 ok"),
    ]

    @Test("SMTP replies are classified by code and stage",
          arguments: [
            (250, SMTPStage.endOfData, DeliveryOutcome.Kind.delivered),
            (421, .greeting, .temporary), (451, .endOfData, .temporary), (452, .recipient, .temporary),
            (550, .recipient, .permanent), (552, .endOfData, .permanent), (553, .mailFrom, .permanent),
            (554, .greeting, .configuration), (502, .ehlo, .configuration), (535, .auth, .configuration),
            (530, .mailFrom, .configuration),
          ])
    func replies(code: Int, stage: SMTPStage, expected: DeliveryOutcome.Kind) {
        #expect(DeliveryOutcome(smtpReplyCode: code, text: "\(code) x", stage: stage).kind == expected)
    }

    @Test("A 250 after the final dot is delivered, with the server's words")
    func delivered() {
        let exchange = SMTPExchange(
            replies: happyStart + [Reply(stage: .recipient, code: 250, text: "250 ok", recipientIndex: 0),
                                   Reply(stage: .data, code: 354, text: "354 go"),
                                   Reply(stage: .endOfData, code: 250, text: "250 2.0.0 queued as X")],
            bodySent: true, failure: nil)
        #expect(DeliveryOutcome(exchange) == .delivered(reply: "250 2.0.0 queued as X"))
    }

    @Test("A wrong password names the settings to check")
    func authFailed() {
        let exchange = SMTPExchange(
            replies: happyStart.prefix(2) + [Reply(stage: .auth, code: 535, text: "535 5.7.8 Authentication credentials invalid")],
            bodySent: false, failure: .loginDenied("curl error 67: Login denied"))
        #expect(DeliveryOutcome(exchange) == .configurationError(
            reason: "authentication failed (535 5.7.8 Authentication credentials invalid) — check smtp.username / smtp.password"))
    }

    @Test("AUTH demanded while smtp.auth is false names smtp.auth")
    func authRequired() {
        let exchange = SMTPExchange(
            replies: happyStart.prefix(2) + [Reply(stage: .mailFrom, code: 530, text: "530 5.7.0 Authentication required")],
            bodySent: false, failure: .other("curl error 55"))
        let outcome = DeliveryOutcome(exchange)
        #expect(outcome.kind == .configuration)
        #expect(outcome.text.contains("smtp.auth"))
    }

    @Test("Client-side failures: TLS, STARTTLS and an unresolvable smtp.host are configuration, network problems are temporary",
          arguments: [
            (SMTPExchange.Failure.tls("curl error 60: SSL certificate problem"), DeliveryOutcome.Kind.configuration),
            (.startTLSNotOffered("curl error 64"), .configuration),
            (.connect("curl error 7: Connection refused"), .temporary),
            (.resolve("curl error 6: Could not resolve host: smtp.exmaple.org"), .configuration),
            (.timeout("curl error 28"), .temporary),
          ])
    func clientFailures(failure: SMTPExchange.Failure, expected: DeliveryOutcome.Kind) {
        #expect(DeliveryOutcome(SMTPExchange(replies: [], bodySent: false, failure: failure)).kind == expected)
    }

    @Test("A connection lost after the body was sent is temporary and says 'possibly delivered'")
    func possiblyDelivered() {
        let exchange = SMTPExchange(
            replies: happyStart + [Reply(stage: .recipient, code: 250, text: "250 ok", recipientIndex: 0), Reply(stage: .data, code: 354, text: "354 go")],
            bodySent: true, failure: .connectionLost("curl error 56: Recv failure"))
        let outcome = DeliveryOutcome(exchange)
        #expect(outcome.kind == .temporary)
        #expect(outcome.text.contains("possibly delivered"))
    }

    @Test("All recipients refused with 5xx is permanent; a 4xx among them keeps it temporary")
    func recipients() {
        let refused = SMTPExchange(
            replies: happyStart + [Reply(stage: .recipient, code: 550, text: "550 no such user", recipientIndex: 0)],
            bodySent: false, failure: .other("curl error 55: RCPT failed"))
        #expect(DeliveryOutcome(refused) == .permanentFailure(reason: "550 no such user"))
        let mixed = SMTPExchange(
            replies: happyStart + [Reply(stage: .recipient, code: 550, text: "550 no", recipientIndex: 0),
                                   Reply(stage: .recipient, code: 450, text: "450 later", recipientIndex: 1)],
            bodySent: false, failure: .other("curl error 55"))
        #expect(DeliveryOutcome(mixed).kind == .temporary)
    }
}

@Suite("Replies that point at OAuth2 and sender settings")
struct SettingsHintTests {
    @Test("535 5.7.139 to password AUTH (Basic auth disabled) names smtp.oauth2 and the README section")
    func basicAuthDisabled() {
        let outcome = DeliveryOutcome(
            smtpReplyCode: 535, text: "535 5.7.139 Authentication unsuccessful, basic authentication is disabled", stage: .auth)
        #expect(outcome.kind == .configuration)
        #expect(outcome.text.contains("smtp.oauth2"))
        #expect(outcome.text.contains("README, \"OAuth2: Microsoft 365\""))
        let wrong = DeliveryOutcome(smtpReplyCode: 535, text: "535 5.7.8 bad credentials", stage: .auth)
        #expect(!wrong.text.contains("smtp.oauth2"), "an ordinary wrong password is not an OAuth2 matter")
    }

    @Test("550 5.7.60 (may not send as) is a settings problem naming smtp.from_policy, at any stage",
          arguments: [SMTPStage.mailFrom, .data, .endOfData])
    func sendAsDenied(stage: SMTPStage) {
        let outcome = DeliveryOutcome(
            smtpReplyCode: 550, text: "550 5.7.60 SMTP; Client does not have permissions to send as this sender", stage: stage)
        #expect(outcome.kind == .configuration)
        #expect(outcome.text.contains("smtp.from_policy: rewrite"))
    }
}
