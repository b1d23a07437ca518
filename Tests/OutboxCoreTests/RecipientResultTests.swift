import OutboxCore
import Testing

@Suite("Per-recipient results")
struct RecipientResultTests {
    typealias Reply = SMTPExchange.Reply

    static let start: [Reply] = [
        Reply(stage: .greeting, code: 220, text: "220 hi"), Reply(stage: .ehlo, code: 250, text: "250 ok"),
        Reply(stage: .mailFrom, code: 250, text: "250 ok"),
    ]

    static func exchange(rcpt codes: [Int], end: [Reply], bodySent: Bool = true, failure: SMTPExchange.Failure? = nil) -> SMTPExchange {
        let rcpt = codes.enumerated().map { Reply(stage: .recipient, code: $1, text: "\($1) r\($0)", recipientIndex: $0) }
        return SMTPExchange(replies: start + rcpt + end, bodySent: bodySent, failure: failure)
    }

    static let accepted = [Reply(stage: .data, code: 354, text: "354 go"), Reply(stage: .endOfData, code: 250, text: "250 queued")]

    func states(_ exchange: SMTPExchange, count: Int) -> [RecipientResult.State] {
        exchange.recipientResults(count: count, outcome: DeliveryOutcome(exchange)).map(\.state)
    }

    @Test("Delivered: 2xx recipients sent, 5xx failed, 4xx queued")
    func mixed() {
        let exchange = Self.exchange(rcpt: [250, 550, 451], end: Self.accepted)
        let results = exchange.recipientResults(count: 3, outcome: DeliveryOutcome(exchange))
        #expect(results.map(\.state) == [.sent, .failed, .queued])
        #expect(results.map(\.reply) == ["250 queued", "550 r1", "451 r2"])
    }

    @Test("The message refused after the dot: accepted recipients fail with that reply; 4xx RCPTs stay queued")
    func refusedAfterDot() {
        let exchange = Self.exchange(
            rcpt: [250, 451], end: [Reply(stage: .data, code: 354, text: "354 go"), Reply(stage: .endOfData, code: 554, text: "554 no")])
        let results = exchange.recipientResults(count: 2, outcome: DeliveryOutcome(exchange))
        #expect(results.map(\.state) == [.failed, .queued])
        #expect(results[0].reply == "554 no")
    }

    @Test("A 4xx after the dot or a lost connection: nobody is sent or failed except 5xx RCPTs",
          arguments: [
            exchange(rcpt: [250, 550], end: [Reply(stage: .data, code: 354, text: "354 go"), Reply(stage: .endOfData, code: 451, text: "451 later")]),
            exchange(rcpt: [250, 550], end: [Reply(stage: .data, code: 354, text: "354 go")], failure: .connectionLost("curl error 56")),
          ])
    func temporary(exchange: SMTPExchange) {
        #expect(states(exchange, count: 2) == [.queued, .failed])
    }

    @Test("Failures before RCPT: a 5xx to MAIL FROM fails everyone; a configuration problem keeps everyone queued")
    func beforeRecipients() {
        let refused = SMTPExchange(replies: Array(Self.start.prefix(2)) + [Reply(stage: .mailFrom, code: 553, text: "553 not owned")],
                                   bodySent: false, failure: nil)
        #expect(states(refused, count: 2) == [.failed, .failed])
        let badLogin = SMTPExchange(replies: Array(Self.start.prefix(2)) + [Reply(stage: .auth, code: 535, text: "535 no")],
                                    bodySent: false, failure: .loginDenied("curl error 67"))
        #expect(states(badLogin, count: 2) == [.queued, .queued])
    }

    @Test("The message's state: deferred while anyone is queued, sent if anyone got it, else failed",
          arguments: [
            ([RecipientResult.State.sent, .failed], 0, QueueState.sent), ([.failed, .failed], 0, .failed),
            ([.failed], 1, .sent), ([.sent, .queued], 0, .deferred), ([.queued], 2, .deferred),
          ])
    func messageState(states: [RecipientResult.State], alreadySent: Int, expected: QueueState) {
        let results = states.enumerated().map { RecipientResult(index: $0, state: $1, reply: "") }
        #expect(RecipientResult.messageState(after: results, alreadySent: alreadySent) == expected)
    }
}
