import OutboxCore
import Testing

@Suite("The .json spool format")
struct SpoolJSONMessageTests {
    let context = IncomingMessage.Context(
        defaultSender: nil, hostname: "outbox.example.org", now: UnixTime(seconds: 1_795_000_000), uniqueToken: "tok123"
    )

    func parse(_ json: String) throws(IncomingMessage.Rejection) -> IncomingMessage {
        try IncomingMessage(json: Array(json.utf8), context: context)
    }

    func header(_ message: IncomingMessage) -> String {
        let text = String(decoding: message.content.bytes, as: UTF8.self)
        return String(text.split(separator: "\r\n\r\n", maxSplits: 1, omittingEmptySubsequences: false)[0])
    }

    @Test("XNAT's field names and the short aliases give the same envelope; a single string works as a list")
    func aliases() throws {
        let long = try parse(
            #"{"from":"x@example.org","tos":["a@example.org"],"ccs":"c@example.org","bccs":["b@example.org"],"text":"t"}"#
        )
        let short = try parse(
            #"{"from":"x@example.org","to":"a@example.org","cc":["c@example.org"],"bcc":"b@example.org","text":"t"}"#)
        #expect(long.envelope == short.envelope)
        #expect(long.envelope.recipients.map(\.value) == ["a@example.org", "c@example.org", "b@example.org"])
        #expect(long.envelope.sender.value == "x@example.org")
    }

    @Test("Bcc recipients are in the envelope and nowhere in the message")
    func bccHidden() throws {
        let message = try parse(
            #"{"from":"x@example.org","tos":"a@example.org","bccs":["Secret <hidden@example.org>"],"text":"t"}"#)
        #expect(message.envelope.recipients.map(\.value) == ["a@example.org", "hidden@example.org"])
        let text = String(decoding: message.content.bytes, as: UTF8.self)
        #expect(!text.contains("hidden@example.org"))
        #expect(!text.lowercased().contains("bcc"))
    }

    @Test("onBehalfOf becomes Sender:, and Date and Message-ID are added")
    func senderDateMessageID() throws {
        let message = try parse(
            #"{"from":"x@example.org","onBehalfOf":"Site Admin <admin@example.org>","tos":"a@example.org","text":"t"}"#)
        let header = header(message)
        #expect(header.contains("\r\nSender: Site Admin <admin@example.org>\r\n"))
        #expect(header.contains("\r\nMessage-ID: <tok123@outbox.example.org>\r\n"))
        #expect(header.contains("\r\nDate: "))
        #expect(header.contains("\r\nMIME-Version: 1.0\r\n"))
    }

    @Test("Without from, smtp.from is the sender and the From: header; a Date in headers replaces the generated one")
    func defaults() throws {
        var context = context
        context.defaultSender = try EmailAddress("admin@xnat.example.org")
        let message = try IncomingMessage(
            json: Array(#"{"tos":"a@example.org","text":"t","headers":{"Date":"Mon, 1 Jan 2024 00:00:00 +0000"}}"#.utf8),
            context: context)
        #expect(message.envelope.sender.value == "admin@xnat.example.org")
        let header = header(message)
        #expect(header.hasPrefix("From: admin@xnat.example.org\r\n"))
        #expect(header.split(separator: "\r\nDate: ").count == 2)
        #expect(header.contains("\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000"))
    }

    @Test("Only bccs gives an undisclosed-recipients To:")
    func onlyBcc() throws {
        let message = try parse(#"{"from":"x@example.org","bccs":"h@example.org","text":"t"}"#)
        #expect(header(message).contains("\r\nTo: undisclosed-recipients:;\r\n"))
    }

    @Test("Custom headers are kept and non-ASCII values become encoded-words")
    func customHeaders() throws {
        let message = try parse(
            #"{"from":"x@example.org","tos":"a@example.org","text":"t","headers":{"X-XNAT-Project":["p1","p2"],"X-Note":"café"}}"#
        )
        let header = header(message)
        #expect(header.contains("\r\nX-XNAT-Project: p1\r\nX-XNAT-Project: p2\r\n"))
        #expect(header.contains("\r\nX-Note: =?UTF-8?B?Y2Fmw6k=?=\r\n"))
    }

    @Test(
        "Each bad input is refused with one line naming the field",
        arguments: [
            (#"{"from":"x@example.org","tos":"a@example.org""#, "truncated"),
            ("not json at all", "not valid JSON"),
            (#"["a@example.org"]"#, "must be an object"),
            (
                #"{"from":"x@example.org","tos":42}"#,
                "field \"tos\" must be a string or a list of strings, not a number"
            ),
            (#"{"from":"x@example.org","tos":["a@example.org",null]}"#, "field \"tos[1]\" must be a string"),
            (#"{"from":"x@example.org","subject":"s","text":"t"}"#, "no recipients"),
            (#"{"from":"x@example.org","tos":[]}"#, "no recipients"),
            (#"{"from":"x@example.org","tos":"nobody"}"#, "invalid address in tos: \"nobody\": it has no @domain"),
            (
                #"{"from":"x@example.org","tos":"a@example.org\r\nRCPT TO:<evil@example.org>"}"#,
                "invalid address in tos"
            ),
            (#"{"from":"x@example.org","ccs":"a\u0000@example.org"}"#, "control character"),
            (#"{"from":"x@example.org","tos":"a@example.org","toos":"b@example.org"}"#, "unknown field \"toos\""),
            (#"{"from":"x@example.org","tos":"a@example.org","to":"b@example.org"}"#, "both \"tos\" and \"to\""),
            (
                #"{"from":"x@example.org","tos":"a@example.org","headers":{"Bcc":"b@example.org"}}"#,
                "headers: \"Bcc\" is not allowed"
            ),
            (
                #"{"from":"x@example.org","tos":"a@example.org","headers":{"Content-Type":"text/plain"}}"#,
                "headers: \"Content-Type\" is not allowed"
            ),
            (
                #"{"from":"x@example.org","tos":"a@example.org","headers":{"X-A":"1\r\nBcc: b@example.org"}}"#,
                "headers.X-A contains a line break"
            ),
            (
                #"{"from":"x@example.org","tos":"a@example.org","subject":"a\nb"}"#,
                "field \"subject\" contains a line break"
            ),
            (#"{"from":"x@example.org","tos":"a@example.org","text":"\udc00"}"#, "lone UTF-16 surrogate"),
            (
                #"{"from":"x@example.org","tos":"a@example.org","attachments":[{"filename":"a.pdf","content_base64":"!!!"}]}"#,
                "attachments[0].content_base64 is not valid base64"
            ),
            (
                #"{"from":"x@example.org","tos":"a@example.org","attachments":[{"filename":"a.pdf","path":"/tmp/a.pdf"}]}"#,
                "attachments[0]: unknown field \"path\""
            ),
            (
                #"{"from":"x@example.org","tos":"a@example.org","attachments":[{"content_base64":"AA=="}]}"#,
                "attachments[0].filename is missing"
            ),
            (#"{"tos":"a@example.org","text":"t"}"#, "no sender"),
            (
                #"{"from":"x@example.org","tos":"a@example.org","text":true}"#,
                "field \"text\" must be a string, not true/false"
            ),
        ])
    func rejections(json: String, expected: String) {
        #expect {
            _ = try parse(json)
        } throws: { error in
            let reason = (error as? IncomingMessage.Rejection)?.reason ?? ""
            return reason.contains(expected) && !reason.contains("\n")
        }
    }

    @Test("Text that is not UTF-8 is refused, naming the field")
    func notUTF8() {
        var bytes = Array(#"{"from":"x@example.org","tos":"a@example.org","text":"caf"#.utf8)
        bytes += [0xE9] + Array(#""}"#.utf8)  // Latin-1 é
        #expect {
            _ = try IncomingMessage(json: bytes, context: context)
        } throws: { error in
            (error as? IncomingMessage.Rejection)?.reason.contains("not valid UTF-8") == true
                && (error as? IncomingMessage.Rejection)?.reason.contains("\"text\"") == true
        }
    }
}

@Suite("MIME encodings")
struct MIMEEncodingTests {
    @Test("Quoted-printable keeps lines at most 76 long, encodes '=' and non-ASCII, and trailing spaces")
    func quotedPrintable() {
        let encoded = String(
            decoding: QuotedPrintable.encode("a=b café \n" + String(repeating: "x", count: 200)), as: UTF8.self)
        #expect(encoded.hasPrefix("a=3Db caf=C3=A9=20\r\n"))
        #expect(encoded.split(separator: "\r\n").allSatisfy { $0.count <= 76 })
        #expect(encoded.utf8.allSatisfy { $0 < 128 })
    }

    @Test("Base64 decoding accepts line breaks and refuses other characters and bad lengths")
    func base64() throws {
        #expect(try Base64.decode("aGVs\r\nbG8=") == Array("hello".utf8))
        #expect(try Base64.decode(Base64.encode([0, 1, 2, 255, 254])) == [0, 1, 2, 255, 254])
        #expect(throws: Base64.DecodingError.self) { try Base64.decode("aGVsbG8") }
        #expect(throws: Base64.DecodingError.self) { try Base64.decode("aG*s") }
    }

    @Test("Non-ASCII display names and subjects become encoded-words; ASCII specials are quoted")
    func headerEncoding() {
        #expect(RFC2047.encodePhrase("Doe, John") == "\"Doe, John\"")
        #expect(RFC2047.encodePhrase("Zoë") == "=?UTF-8?B?Wm/Dqw==?=")
        let long = RFC2047.encodeUnstructured(String(repeating: "é", count: 100), nameLength: 9)
        #expect(long.split(separator: "\r\n ").allSatisfy { $0.count <= 75 && $0.hasPrefix("=?UTF-8?B?") })
    }
}

@Suite("Envelope fields in .eml spool files (sendmail -f and argument recipients)")
struct SpoolEnvelopeTests {
    let context = IncomingMessage.Context(
        defaultSender: nil, hostname: "outbox.example.org", now: UnixTime(seconds: 1_795_000_000), uniqueToken: "tok123"
    )

    @Test("X-Outbox-Envelope-* replace the header envelope and are removed from the message")
    func envelopeFields() throws {
        let message = try IncomingMessage(
            spoolEML: Array(
                """
                X-Outbox-Envelope-From: bounce@example.org
                X-Outbox-Envelope-To: carol@example.org, dave@example.org
                From: Robot <robot@example.org>
                To: shown@example.org
                Subject: s

                body
                """.utf8), context: context)
        #expect(message.envelope.sender.value == "bounce@example.org")
        #expect(message.envelope.recipients.map(\.value) == ["carol@example.org", "dave@example.org"])
        let text = String(decoding: message.content.bytes, as: UTF8.self)
        #expect(!text.contains("X-Outbox-Envelope"))
        #expect(!text.contains("carol@example.org"))
        #expect(text.hasPrefix("From: Robot <robot@example.org>\r\nTo: shown@example.org\r\nSubject: s\r\n"))
    }

    @Test("Without the envelope fields a .eml file follows sendmail -t")
    func plainEML() throws {
        let message = try IncomingMessage(
            spoolEML: Array("From: a@example.org\nTo: b@example.org\n\nx\n".utf8), context: context)
        #expect(message.envelope.recipients.map(\.value) == ["b@example.org"])
    }

    @Test("An invalid envelope address is refused with a reason naming the field")
    func invalidEnvelope() {
        #expect {
            _ = try IncomingMessage(
                spoolEML: Array("X-Outbox-Envelope-To: nobody\nSubject: s\n\nx\n".utf8), context: context)
        } throws: { error in
            (error as? IncomingMessage.Rejection)?.reason.contains("invalid address in X-Outbox-Envelope-To") == true
        }
    }
}

@Suite("The stdlib JSON parser")
struct JSONValueTests {
    @Test("Objects, lists, escapes, numbers and a BOM parse as RFC 8259 says")
    func parses() throws {
        let value = try JSONValue(
            parsing: Array("\u{FEFF}{\"a\": [1, -2.5e3, true, null], \"b\": \"\\u00e9\\ud83d\\ude00\\n\\\"\"}".utf8))
        #expect(
            value
                == .object([
                    (key: "a", value: .array([.number("1"), .number("-2.5e3"), .bool(true), .null])),
                    (key: "b", value: .string("é😀\n\"")),
                ]))
    }

    @Test(
        "Refusals name the problem, the byte and the field",
        arguments: [
            (#"{"a":1,"a":2}"#, "the field \"a\" is given twice"),
            (#"{"a":[1,2"#, "truncated"),
            (#"{"attachments":[{"filename":"x"#, "(in field \"attachments[0].filename\")"),
            (#"{"a":01}"#, "expected \",\" or \"}\""),
            (#"{"a":"x"} trailing"#, "unexpected text after the end"),
            ("", "the file is empty"),
            (String(repeating: "[", count: 100), "nested more than 64 levels"),
        ])
    func refuses(text: String, expected: String) {
        #expect {
            _ = try JSONValue(parsing: Array(text.utf8))
        } throws: { error in
            (error as? JSONValue.ParseError)?.description.contains(expected) == true
        }
    }

    @Test("A refusal stays one line when the field name being read holds a line break (found by bench/faults.sh fuzz)")
    func refusalWithLineBreakInFieldName() {
        #expect {
            _ = try JSONValue(parsing: Array(#"{"f\rom":"x"#.utf8))  // a JSON \r escape: the name holds a CR
        } throws: { error in
            guard let description = (error as? JSONValue.ParseError)?.description else { return false }
            return description.contains("(in field \"f?om\")") && !description.contains("\r") && !description.contains("\n")
        }
    }
}
