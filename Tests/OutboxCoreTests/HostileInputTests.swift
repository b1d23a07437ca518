import Foundation
import OutboxCore
import Testing

/// Issue 14's hostile inputs, each with the input of the finding (sized down where a test would
/// otherwise take long, but large enough that quadratic behaviour would blow the time limit):
/// every parser and rewrite is linear and refuses what is over its limit with a one-line reason.
@Suite("Hostile input: bounded parsing", .timeLimit(.minutes(1)))
struct HostileInputTests {
    let context = IncomingMessage.Context(
        defaultSender: nil, hostname: "test.example.org", now: UnixTime(seconds: 1_795_000_000), uniqueToken: "t")

    /// A multipart nested `depth` levels deep whose innermost text part has one 8-bit byte.
    static func nestedMIME(depth: Int) -> String {
        var text = "From: a@example.org\nTo: b@example.org\nSubject: deep\nMIME-Version: 1.0\n"
        for level in 0..<depth {
            text += "Content-Type: multipart/mixed; boundary=\"b\(level)\"\n\n--b\(level)\n"
        }
        text += "Content-Type: text/plain; charset=utf-8\n\nGr\u{FC}\u{DF}e\n"
        for level in (0..<depth).reversed() { text += "--b\(level)--\n" }
        return text
    }

    func reason(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return (error as? IncomingMessage.Rejection)?.reason ?? "\(error)"
        }
    }

    // MARK: Finding 1: deep MIME

    @Test("An .eml whose multipart nests 3 000 levels (finding 1) is refused at intake, by name of the limit")
    func deepMIMERefused() {
        let input = Array(Self.nestedMIME(depth: 3_000).utf8)
        #expect(input.count > 100_000)
        let why = reason { _ = try IncomingMessage(spoolFileNamed: "deep.eml", content: input, context: context) }
        #expect(why == "MIME parts are nested more than 100 levels deep")
    }

    @Test("The 7-bit rewrite of 10 000 nested levels (a message queued before the limit) finishes and leaves them as sent")
    func deepMIMERewriteIsLinear() throws {
        let message = try RawMessage(normalizing: Array(Self.nestedMIME(depth: 10_000).utf8))
        let sent = SevenBitBody.apply(to: message)
        // Past the nesting limit nothing is walked: the message goes as it is.
        #expect(sent.bytes.count == message.bytes.count)
    }

    @Test("100 nested levels are accepted and the one 8-bit part deep inside is re-encoded, every boundary kept")
    func deepestAllowedMIMEIsEncoded() throws {
        let incoming = try IncomingMessage(
            spoolFileNamed: "deep.eml", content: Array(Self.nestedMIME(depth: 100).utf8), context: context)
        let sent = SevenBitBody.apply(to: incoming.content)
        #expect(sent.bytes.allSatisfy { $0 < 0x80 })
        let text = String(decoding: sent.bytes, as: UTF8.self)
        #expect(text.contains("Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n--b99--\r\n"), "\(text.suffix(400))")
        for level in [0, 50, 99] {
            #expect(text.contains("\r\n--b\(level)\r\n") && text.contains("\r\n--b\(level)--\r\n"))
        }
        #expect(sent.bytes.count - incoming.content.bytes.count < 100, "only the one part changed")
    }

    @Test("A delimiter of an outer multipart ends the inner part it cuts through, as RFC 2046 says")
    func outerDelimiterEndsInnerParts() throws {
        let message = try RawMessage(normalizing: Array("""
            From: a@example.org
            Content-Type: multipart/mixed; boundary="outer"

            --outer
            Content-Type: multipart/alternative; boundary="inner"

            --inner
            Content-Type: text/plain

            caf\u{E9}
            --outer
            Content-Type: text/plain

            na\u{EF}ve
            --outer--

            """.utf8))
        let text = String(decoding: SevenBitBody.apply(to: message).bytes, as: UTF8.self)
        #expect(text.utf8.allSatisfy { $0 < 0x80 })
        #expect(text.contains("quoted-printable\r\n\r\ncaf=C3=A9\r\n--outer\r\n"), "\(text)")
        #expect(text.contains("quoted-printable\r\n\r\nna=C3=AFve\r\n--outer--\r\n"), "\(text)")
    }

    @Test("A multipart of 20 000 small parts is refused at intake; queued before, it is sent with the rest unwalked")
    func manyParts() throws {
        var text = "From: a@example.org\nTo: b@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"p\"\n\n"
        for index in 0..<20_000 { text += "--p\nContent-Type: text/plain\n\n\(index % 2 == 0 ? "caf\u{E9}" : "ascii")\n" }
        text += "--p--\n"
        let why = reason { _ = try IncomingMessage(spoolFileNamed: "parts.eml", content: Array(text.utf8), context: context) }
        #expect(why == "the message has more than 10000 MIME parts")
        let sent = SevenBitBody.apply(to: try RawMessage(normalizing: Array(text.utf8)))
        #expect(sent.bytes.count > text.utf8.count, "the first parts were re-encoded")
    }

    @Test("A JSON subject or header value over 100 KB is refused, as an .eml header field is")
    func longJSONSubject() {
        let long = String(repeating: "\u{E9}", count: 60_000)
        let subject = Array("{\"from\": \"a@example.org\", \"tos\": \"b@example.org\", \"subject\": \"\(long)\"}".utf8)
        #expect(reason { _ = try IncomingMessage(spoolFileNamed: "s.json", content: subject, context: context) }
            == "field \"subject\" is longer than 102400 bytes (the limit of one header field)")
        let header = Array("{\"from\": \"a@example.org\", \"tos\": \"b@example.org\", \"headers\": {\"X-A\": \"\(long)\"}}".utf8)
        #expect(reason { _ = try IncomingMessage(spoolFileNamed: "h.json", content: header, context: context) }
            == "headers.X-A is longer than 102400 bytes (the limit of one header field)")
    }

    @Test("A JSON subject of 100 000 spaces folds in one pass, no line white space only")
    func subjectOfSpaces() throws {
        let json = Array(("{\"from\": \"a@example.org\", \"tos\": \"b@example.org\", \"subject\": \"a" + String(repeating: " ", count: 100_000) + "b\"}").utf8)
        let message = try IncomingMessage(spoolFileNamed: "s.json", content: json, context: context).content
        let sent = SevenBitBody.apply(to: message)
        let lines = headerLines(sent)
        #expect(lines.allSatisfy { $0.utf8.count <= 998 && !$0.allSatisfy { $0 == " " || $0 == "\t" } })
        #expect(sent.values(of: "Subject") == ["a b"])
    }

    // MARK: Finding 2: many keys, many header fields

    @Test("JSON with 160 000 keys (finding 2) is refused quickly, naming the limit")
    func manyJSONKeys() {
        var json = "{\"tos\": \"b@example.org\", \"headers\": {"
        json += (0..<160_000).map { "\"X-K\($0)\": \"v\"" }.joined(separator: ",")
        json += "}}"
        let why = reason { _ = try IncomingMessage(spoolFileNamed: "keys.json", content: Array(json.utf8), context: context) }
        #expect(why?.hasPrefix("not valid JSON: an object with more than 1000 fields at byte") == true, "\(why ?? "accepted")")
        #expect(why?.hasSuffix("(in field \"headers\")") == true, "\(why ?? "accepted")")
    }

    @Test("JSON headers with 1 001 values in all are refused: the built message would have as many header fields")
    func manyJSONHeaderValues() {
        let values = Array(repeating: "\"v\"", count: 600).joined(separator: ",")
        let json = Array("{\"from\": \"a@example.org\", \"tos\": \"b@example.org\", \"headers\": {\"X-A\": [\(values)], \"X-B\": [\(values)]}}".utf8)
        let why = reason { _ = try IncomingMessage(spoolFileNamed: "v.json", content: json, context: context) }
        #expect(why == "headers: more than 1000 values (the limit of header fields)")
    }

    @Test("A duplicate JSON key is still refused with its name, among 1 000 distinct ones")
    func duplicateKeyAmongMany() {
        let keys = (0..<999).map { "\"k\($0)\": 1" }.joined(separator: ",")
        let why = reason {
            _ = try IncomingMessage(
                spoolFileNamed: "dup.json", content: Array("{\"headers\": {\(keys), \"k5\": 2}}".utf8), context: context)
        }
        #expect(why?.contains("the field \"k5\" is given twice") == true, "\(why ?? "accepted")")
    }

    @Test("An .eml header with 200 000 fields is refused at the first field over the limit")
    func manyHeaderFields() {
        let input = Array(("From: a@example.org\nTo: b@example.org\n" + String(repeating: "X-A: b\n", count: 200_000) + "\nx\n").utf8)
        let why = reason { _ = try IncomingMessage(spoolFileNamed: "many.eml", content: input, context: context) }
        #expect(why == "the header has more than 1000 fields")
    }

    @Test("One header field over 100 KB is refused naming the field")
    func longHeaderField() {
        let input = Array(("From: a@example.org\nTo: b@example.org\nReferences: " + String(repeating: "<x@y> ", count: 20_000) + "\n\nx\n").utf8)
        let why = reason { _ = try IncomingMessage(spoolFileNamed: "long.eml", content: input, context: context) }
        #expect(why == "the header field References: is longer than 102400 bytes")
    }

    @Test("More than 1 000 recipients are refused in .eml and .json alike; 1 000 are accepted")
    func recipientLimit() throws {
        func eml(_ count: Int) -> [UInt8] {
            // Ten to a field, so the header stays under its field limit.
            let bcc = stride(from: 0, to: count, by: 10).map { first in
                "Bcc: " + (first..<min(first + 10, count)).map { "r\($0)@example.org" }.joined(separator: ", ") + "\n"
            }.joined()
            return Array("From: a@example.org\n\(bcc)Subject: s\n\nx\n".utf8)
        }
        #expect(try IncomingMessage(spoolFileNamed: "ok.eml", content: eml(1_000), context: context).envelope.recipients.count == 1_000)
        #expect(reason { _ = try IncomingMessage(spoolFileNamed: "r.eml", content: eml(1_001), context: context) }
            == "more than 1000 recipients in To:, Cc: and Bcc:: split the message into several")
        func json(tos: Int, ccs: Int) -> [UInt8] {
            func list(_ prefix: String, _ count: Int) -> String {
                "[" + (0..<count).map { "\"\(prefix)\($0)@example.org\"" }.joined(separator: ",") + "]"
            }
            return Array("{\"from\": \"a@example.org\", \"tos\": \(list("t", tos)), \"ccs\": \(list("c", ccs))}".utf8)
        }
        #expect(reason { _ = try IncomingMessage(spoolFileNamed: "r.json", content: json(tos: 600, ccs: 600), context: context) }
            == "more than 1000 recipients in tos, ccs and bccs: split the message into several")
        // 100 000 in one list: refused at the 1 001st item, before the rest is parsed.
        let why = reason { _ = try IncomingMessage(spoolFileNamed: "r.json", content: json(tos: 100_000, ccs: 0), context: context) }
        #expect(why?.hasPrefix("not valid JSON: a list with more than 1000 items at byte ") == true, "\(why ?? "accepted")")
        #expect(why?.hasSuffix(" (in field \"tos\")") == true, "\(why ?? "accepted")")
    }

    @Test("A body of a million short 8-bit lines is re-encoded in one pass (base64: shorter than quoted-printable)")
    func manyShortLines() throws {
        let message = try RawMessage(normalizing: Array(("From: a@example.org\n\n" + String(repeating: "\u{E9}\n", count: 1_000_000)).utf8))
        let sent = SevenBitBody.apply(to: message)
        #expect(sent.bytes.allSatisfy { $0 < 0x80 })
        #expect(sent.values(of: "Content-Transfer-Encoding") == ["base64"])
        let decoded = Data(base64Encoded: Data(sent.body), options: .ignoreUnknownCharacters).map(Array.init)
        #expect(decoded == Array(message.body))
    }

    // MARK: Finding 6: addresses

    @Test("ESMTP parameters after a quoted local part are refused; quoted spaces are fine",
          arguments: [
            ("\"s\"@example.org RET=FULL AUTH=x", false), ("\"s\"@example.org NOTIFY=NEVER", false),
            ("\"a b\"@example.org", true), ("\"a,b;c\"@example.org", true), ("\"s\" x\"@example.org", false),
            ("a\"b@example.org", false), ("\"s\"@exa,mple.org", false), ("\"s\"@[192.0.2.1]", true),
            ("s@example.org ORCPT=rfc822;x", false), ("plain@example.org", true),
          ])
    func quotedLocalPart(address: String, valid: Bool) {
        let accepted = (try? EmailAddress(address)) != nil
        #expect(accepted == valid, "\(address)")
    }

    @Test("A JSON from with smuggled parameters is refused naming the field")
    func smuggledParametersInJSON() {
        let json = Array(#"{"from": "\"s\"@example.org RET=FULL AUTH=x", "tos": "b@example.org"}"#.utf8)
        let why = reason { _ = try IncomingMessage(spoolFileNamed: "p.json", content: json, context: context) }
        #expect(why?.hasPrefix("invalid address in from: ") == true, "\(why ?? "accepted")")
    }

    // MARK: Finding 8: header lines and folding

    /// The header lines of `message` as text, without their CRLF.
    func headerLines(_ message: RawMessage) -> [String] {
        message.fields.flatMap { $0.lines.map { String(decoding: $0, as: UTF8.self) } }
    }

    @Test("A header line over 998 octets without spaces goes out folded, no line over 998 and none white space only")
    func overlongHeaderWithoutSpaces() throws {
        let word = String(repeating: "x", count: 5_000)
        let message = try RawMessage(normalizing: Array("From: a@example.org\nX-Long: \(word)\nSubject: s\n\nbody\n".utf8))
        let sent = SevenBitBody.apply(to: message)
        let lines = headerLines(sent)
        #expect(lines.allSatisfy { $0.utf8.count <= 998 })
        #expect(lines.allSatisfy { !$0.allSatisfy { $0 == " " || $0 == "\t" } })
        let field = try #require(sent.fields.first { $0.name == "X-Long" })
        #expect(field.lines.count == 6)
        #expect(field.value.replacingOccurrences(of: " ", with: "") == word, "only folding spaces were added")
        #expect(String(decoding: sent.body, as: UTF8.self) == "body\r\n")
    }

    @Test("A long header with spaces is folded at them: unfolding gives back the same value")
    func overlongHeaderWithSpaces() throws {
        let references = (0..<300).map { "<id\($0)@example.org>" }.joined(separator: " ")
        let message = try RawMessage(normalizing: Array("From: a@example.org\nReferences: \(references)\n\nbody\n".utf8))
        let sent = SevenBitBody.apply(to: message)
        #expect(headerLines(sent).allSatisfy { $0.utf8.count <= 998 })
        #expect(sent.values(of: "References") == [references])
    }

    @Test("A JSON header value of 2 000 characters without spaces is encoded across lines and decodes to the same text")
    func longJSONHeader() throws {
        let value = String(repeating: "y", count: 2_000)
        let json = Array("{\"from\": \"a@example.org\", \"tos\": \"b@example.org\", \"headers\": {\"X-Token\": \"\(value)\"}}".utf8)
        let message = try IncomingMessage(spoolFileNamed: "h.json", content: json, context: context).content
        #expect(headerLines(message).allSatisfy { $0.utf8.count <= 998 })
        let field = try #require(message.fields.first { $0.name == "X-Token" })
        let decoded = field.value.split(separator: " ").map { word -> String in
            let base64 = String(word.dropFirst("=?UTF-8?B?".count).dropLast(2))
            return String(decoding: Data(base64Encoded: base64) ?? Data(), as: UTF8.self)
        }.joined()
        #expect(decoded == value)
    }

    @Test("Folding a subject with long runs of spaces never leaves a white-space-only line")
    func foldingRunsOfSpaces() throws {
        let subject = "start" + String(repeating: " ", count: 300) + "end" + String(repeating: " ", count: 200) + "x"
        let json = Array("{\"from\": \"a@example.org\", \"tos\": \"b@example.org\", \"subject\": \"\(subject)\"}".utf8)
        let message = try IncomingMessage(spoolFileNamed: "s.json", content: json, context: context).content
        let lines = headerLines(message)
        #expect(lines.allSatisfy { !$0.allSatisfy { $0 == " " || $0 == "\t" } }, "\(lines)")
        #expect(lines.allSatisfy { $0.utf8.count <= 998 })
    }
}
