@testable import Systemd
import Testing

@Suite("What the Notifier sends")
struct NotifierTests {
    @Test("A status text is one line: CRLF, LF and CR all become a space, so no text can add an assignment")
    func oneLine() {
        #expect(Notifier.oneLine("250 OK\r\nREADY=1") == "250 OK READY=1")
        #expect(Notifier.oneLine("a\nb\rc") == "a b c")
        #expect(!Notifier.oneLine("x\r\nWATCHDOG=1\nSTATUS=y").contains { $0.isNewline })
    }
}
