import OutboxCore
import Testing

@Suite("The one sanitizer and line splitter")
struct PrintableTextTests {
    @Test("Control characters become ?, long text is cut to the limit with ...")
    func excerpt() {
        #expect("a\u{0}b\r\nc\u{7F}é".printableExcerpt == "a?b??c?é")
        #expect(String(repeating: "x", count: 100).printableExcerpt == String(repeating: "x", count: 77) + "...")
        #expect("a\nb".printableExcerpt(maximumLength: 300, replacement: " ") == "a b")
        #expect("é\u{1}ok".printableExcerpt(maximumLength: nil, asciiOnly: true) == "??ok")
        #expect(String(repeating: "y", count: 500).printableExcerpt(maximumLength: nil).count == 500)
    }

    @Test("Lines split at LF, CRLF and CR alike; the first line skips empty ones; one line joins them")
    func lines() {
        #expect("a\r\nb\nc\rd".lines == ["a", "b", "c", "d"])
        #expect("a\n\nb".lines == ["a", "", "b"])
        #expect("\r\nfirst\r\nsecond".firstLine == "first")
        #expect("".firstLine == "")
        #expect("ok\r\nSTATUS=forged".joinedAsOneLine == "ok STATUS=forged")
    }
}
