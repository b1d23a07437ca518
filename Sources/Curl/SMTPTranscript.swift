/// What was said during one SMTP transaction, as seen through CURLOPT_DEBUGFUNCTION: each server
/// reply, with the command it answered.
///
/// libcurl's error buffer is empty for many SMTP failures and `CURLINFO_RESPONSE_CODE` holds only
/// the last code, so this is where the server's real words come from. Commands are kept by verb
/// only: an AUTH line carries credentials and is never stored.
public struct SMTPTranscript: Sendable, Hashable {
    public struct Reply: Sendable, Hashable {
        /// The verb of the command this answers (`EHLO`, `STARTTLS`, `AUTH`, `MAIL`, `RCPT`,
        /// `DATA`, `QUIT`), `nil` for the greeting, and `.` for the reply after the message body.
        public var command: String?
        /// For RCPT: the recipient's position in the list given to the transfer.
        public var recipientIndex: Int?
        public var code: Int
        /// The whole reply, lines joined by a space, e.g. `550 5.1.1 <x@y>: user unknown`.
        public var text: String
    }

    public var replies: [Reply] = []
    /// True once libcurl has handed the whole body over (the final dot follows it).
    public var bodySent = false

    // Parser state
    var lastCommand: String?
    var rcptCount = 0
    var pendingLines: [String] = []
    var dataAccepted = false

    public init() {}

    mutating func commandSent(_ line: String) {
        // Unicode scalars, not Characters: "\r\n" is one Character in Swift.
        let verb = String(String.UnicodeScalarView(line.unicodeScalars.prefix { $0 != " " && $0 != ":" && $0 != "\r" && $0 != "\n" })).uppercased()
        let known = ["EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "QUIT", "RSET", "NOOP"]
        if known.contains(verb) {
            lastCommand = verb == "HELO" ? "EHLO" : verb
            if verb == "RCPT" { rcptCount += 1 }
        } else if lastCommand == "AUTH" {
            // A SASL continuation (credentials): still AUTH.
        }
    }

    mutating func replyLineReceived(_ rawLine: String) {
        var scalars = rawLine.unicodeScalars
        while let last = scalars.last, last == "\n" || last == "\r" { scalars.removeLast() }
        let line = String(scalars)
        guard line.count >= 3, let code = Int(line.prefix(3)) else { return }
        pendingLines.append(line)
        let isLast = line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] != "-"
        guard isLast else { return }
        let text = pendingLines.map { l -> String in
            l.count > 4 ? String(l.dropFirst(4)) : ""
        }.joined(separator: " ")
        pendingLines = []
        var command = lastCommand
        if command == "DATA" && dataAccepted { command = "." }
        if lastCommand == "DATA" && code == 354 { dataAccepted = true }
        replies.append(Reply(command: command, recipientIndex: command == "RCPT" ? rcptCount - 1 : nil,
                             code: code, text: text.isEmpty ? "\(code)" : "\(code) \(text)"))
    }
}
