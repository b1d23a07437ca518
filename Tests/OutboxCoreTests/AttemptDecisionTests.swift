import OutboxCore
import Testing

/// What an attempt means, from what the server said: a table of replies, each decided with the
/// lifetime still running and with it run out, and recipient batches.
@Suite("Attempt decision")
struct AttemptDecisionTests {
    typealias Reply = SMTPExchange.Reply

    static let t0 = UnixTime(seconds: 1_800_000_000)
    /// The defaults: first retry after 5 minutes, at most an hour apart, 5 days' lifetime.
    static let retry = RetryPolicy()
    /// Ten minutes after queueing, first attempt: retried.
    static let young = (attempt: 1, now: t0 + .seconds(600))
    /// Six days and 200 attempts (spread over days by the schedule) after queueing: given up.
    static let expired = (attempt: 200, now: t0 + .seconds(6 * 86_400))

    static let greeting = Reply(stage: .greeting, code: 220, text: "220 hi")
    static let ehlo = Reply(stage: .ehlo, code: 250, text: "250 ok")
    static let mailFrom = Reply(stage: .mailFrom, code: 250, text: "250 ok")
    static let data = Reply(stage: .data, code: 354, text: "354 go")

    static func rcpt(_ code: Int, _ index: Int = 0) -> Reply {
        Reply(stage: .recipient, code: code, text: "\(code) r\(index)", recipientIndex: index)
    }

    /// One recipient accepted, then the reply after the final dot.
    static func afterDot(_ code: Int, _ text: String) -> SMTPExchange {
        SMTPExchange(
            replies: [greeting, ehlo, mailFrom, rcpt(250), data, Reply(stage: .endOfData, code: code, text: text)],
            bodySent: true, failure: nil)
    }

    static func failing(_ replies: [Reply], _ failure: SMTPExchange.Failure?, bodySent: Bool = false) -> SMTPExchange {
        SMTPExchange(replies: replies, bodySent: bodySent, failure: failure)
    }

    /// Server replies and client failures, and what kind of outcome each is.
    static let table: [(String, SMTPExchange, DeliveryOutcome.Kind)] = [
        ("250 after the dot", afterDot(250, "250 2.0.0 queued as X"), .delivered),
        ("421 greeting", failing([Reply(stage: .greeting, code: 421, text: "421 busy")], .other("curl error 8")),
         .temporary),
        ("450 RCPT", failing([greeting, ehlo, mailFrom, rcpt(450)], .other("curl error 55")), .temporary),
        ("451 after the dot", afterDot(451, "451 4.3.0 try later"), .temporary),
        ("452 RCPT", failing([greeting, ehlo, mailFrom, rcpt(452)], .other("curl error 55")), .temporary),
        ("550 RCPT", failing([greeting, ehlo, mailFrom, rcpt(550)], .other("curl error 55")), .permanent),
        ("552 after the dot", afterDot(552, "552 5.3.4 too big"), .permanent),
        ("553 MAIL FROM", failing([greeting, ehlo, Reply(stage: .mailFrom, code: 553, text: "553 bad sender")],
                                  .other("curl error 55")), .permanent),
        ("554 DATA", failing([greeting, ehlo, mailFrom, rcpt(250), Reply(stage: .data, code: 554, text: "554 no")],
                             .other("curl error 55")), .permanent),
        ("535 5.7.8 AUTH", failing([greeting, ehlo, Reply(stage: .auth, code: 535, text: "535 5.7.8 bad credentials")],
                                   .loginDenied("curl error 67")), .configuration),
        ("535 5.7.139 AUTH (basic auth disabled)",
         failing([greeting, ehlo, Reply(stage: .auth, code: 535, text: "535 5.7.139 basic auth disabled")],
                 .loginDenied("curl error 67")), .configuration),
        ("530 5.7.0 MAIL FROM (authentication required)",
         failing([greeting, ehlo, Reply(stage: .mailFrom, code: 530, text: "530 5.7.0 auth required")],
                 .other("curl error 55")), .configuration),
        ("550 5.7.60 after the dot (send-as denied)", afterDot(550, "550 5.7.60 SendAsDenied"), .configuration),
        ("TLS certificate not trusted", failing([greeting], .tls("curl error 60: SSL certificate problem")),
         .configuration),
        ("STARTTLS not offered", failing([greeting, ehlo], .startTLSNotOffered("curl error 64")), .configuration),
        ("DNS name not resolving", failing([], .resolve("curl error 6: Could not resolve host")), .configuration),
        ("connection refused", failing([], .connect("curl error 7: Connection refused")), .temporary),
        ("timeout", failing([greeting], .timeout("curl error 28")), .temporary),
        ("connection lost after the body", failing([greeting, ehlo, mailFrom, rcpt(250), data],
                                                   .connectionLost("curl error 56"), bodySent: true), .temporary),
    ]

    static func decide(_ exchange: SMTPExchange, recipients: Int = 1, at time: (attempt: Int, now: UnixTime),
                       alreadySent: Int = 0, untried: Int = 0) -> AttemptDecision {
        AttemptDecision(TransactionResult(exchange, recipientCount: recipients), attempt: time.attempt, queuedAt: t0,
                        alreadySent: alreadySent, untried: untried, startedAt: time.now - .seconds(1), now: time.now,
                        retry: retry, random: 0)
    }

    @Test("Within the lifetime: delivered is sent, 5xx is failed, anything else waits for the retry schedule",
          arguments: table)
    func withinLifetime(_ name: String, _ exchange: SMTPExchange, _ kind: DeliveryOutcome.Kind) {
        let decision = Self.decide(exchange, at: Self.young)
        #expect(decision.outcome.kind == kind)
        #expect(decision.isSettingsProblem == (kind == .configuration))
        #expect(!decision.continues)
        switch kind {
        case .delivered:
            #expect(decision.newState == .sent)
            #expect(decision.recipients.map(\.state) == [.sent])
            #expect(decision.nextAttemptAt == nil)
        case .permanent:
            #expect(decision.newState == .failed)
            #expect(decision.recipients.map(\.state) == [.failed])
            #expect(decision.nextAttemptAt == nil)
        case .temporary, .configuration:
            #expect(decision.newState == .deferred)
            #expect(decision.recipients.map(\.state) == [.queued])
            #expect(decision.nextAttemptAt == Self.young.now + .seconds(300))
        }
    }

    @Test("Past the lifetime: what waits fails with 'gave up', except a settings problem: kept, retried hourly",
          arguments: table)
    func pastLifetime(_ name: String, _ exchange: SMTPExchange, _ kind: DeliveryOutcome.Kind) {
        let decision = Self.decide(exchange, at: Self.expired)
        switch kind {
        case .delivered:
            #expect(decision.newState == .sent)
            #expect(decision.recipients.map(\.state) == [.sent])
        case .permanent:
            #expect(decision.newState == .failed)
            #expect(decision.recipients.map(\.state) == [.failed])
            #expect(!decision.outcome.text.contains("gave up"))
        case .temporary:
            #expect(decision.newState == .failed)
            #expect(decision.recipients.map(\.state) == [.failed])
            #expect(decision.outcome.kind == .permanent)
            #expect(decision.outcome.text.hasPrefix("gave up after 200 attempts (delivery.lifetime): "))
            #expect(decision.recipients.allSatisfy {
                $0.reply.hasPrefix("gave up after 200 attempts (delivery.lifetime): ")
            })
            #expect(decision.nextAttemptAt == nil)
        case .configuration:
            #expect(decision.newState == .deferred)
            #expect(decision.recipients.map(\.state) == [.queued])
            #expect(decision.outcome.kind == .configuration)
            #expect(decision.nextAttemptAt == Self.expired.now + Self.retry.maximumDelay)
        }
    }

    @Test("Some recipients sent, one refused, one put off: deferred for that one, whose reply is the last error")
    func mixedRecipients() {
        let exchange = SMTPExchange(
            replies: [Self.greeting, Self.ehlo, Self.mailFrom, Self.rcpt(250, 0), Self.rcpt(550, 1), Self.rcpt(451, 2),
                      Self.data, Reply(stage: .endOfData, code: 250, text: "250 queued")],
            bodySent: true, failure: nil)
        let young = Self.decide(exchange, recipients: 3, at: Self.young)
        #expect(young.recipients.map(\.state) == [.sent, .failed, .queued])
        #expect(young.newState == .deferred)
        #expect(young.outcome == .temporaryFailure(reason: "451 r2"))

        let old = Self.decide(exchange, recipients: 3, at: Self.expired)
        #expect(old.recipients.map(\.state) == [.sent, .failed, .failed])
        #expect(old.recipients[2].reply == "gave up after 200 attempts (delivery.lifetime): 451 r2")
        #expect(old.newState == .sent)
    }

    @Test("A batch fully decided while others wait untried: due again at once, from the attempt's start")
    func batchContinues() {
        let decision = Self.decide(Self.afterDot(250, "250 ok"), at: Self.young, untried: 100)
        #expect(decision.continues)
        #expect(decision.newState == .deferred)
        #expect(decision.nextAttemptAt == Self.young.now - .seconds(1))
        #expect(decision.recipients.map(\.state) == [.sent])
    }

    @Test("A batch put off (4xx) defers the message as usual; past the lifetime the untried batches fail with it")
    func batchPutOff() {
        let putOff = Self.table[3].1  // 451 after the dot
        let young = Self.decide(putOff, at: Self.young, untried: 100)
        #expect(!young.continues)
        #expect(young.newState == .deferred)
        #expect(young.nextAttemptAt == Self.young.now + .seconds(300))
        #expect(young.outcome == .temporaryFailure(reason: "451 4.3.0 try later"))

        let old = Self.decide(putOff, at: Self.expired, untried: 100)
        #expect(old.newState == .failed)
        #expect(old.outcome.kind == .permanent)
        #expect(Self.decide(putOff, at: Self.expired, alreadySent: 100, untried: 100).newState == .sent)
    }

    @Test("A settings problem with recipients in batches never fails the mail, past the lifetime either",
          arguments: table.filter { $0.2 == .configuration })
    func batchSettingsProblem(_ name: String, _ exchange: SMTPExchange, _ kind: DeliveryOutcome.Kind) {
        for time in [Self.young, Self.expired] {
            let decision = Self.decide(exchange, recipients: 2, at: time, alreadySent: 100, untried: 100)
            #expect(decision.newState == .deferred)
            #expect(decision.recipients.map(\.state) == [.queued, .queued])
            #expect(decision.isSettingsProblem)
            #expect(!decision.continues)
        }
        let old = Self.decide(exchange, recipients: 2, at: Self.expired, untried: 100)
        #expect(old.nextAttemptAt == Self.expired.now + Self.retry.maximumDelay)
    }
}
