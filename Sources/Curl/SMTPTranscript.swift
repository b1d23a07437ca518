/// What was said during one SMTP transaction, as seen through CURLOPT_DEBUGFUNCTION: each server
/// reply, with the command it answered.
///
/// libcurl's error buffer is empty for many SMTP failures and `CURLINFO_RESPONSE_CODE` holds only
/// the last code, so this is where the server's real words come from. Commands are kept by verb
/// only: an AUTH line carries credentials and is never stored.
///
/// Kept in the Curl wrapper (which knows no mail rules): OutboxDelivery translates it into the
/// transport-neutral `SMTPExchange` that OutboxCore classifies.
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

    /// Notes the verb of a command line libcurl sent (only the first bytes are looked at).
    mutating func commandSent<Bytes: Collection<UInt8>>(_ line: Bytes) {
        let verb = String(decoding: line.prefix { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: ":") && $0 != 13 && $0 != 10 },
                          as: UTF8.self).uppercased()
        switch verb {
        case "EHLO", "HELO": lastCommand = "EHLO"
        case "RCPT":
            lastCommand = verb
            rcptCount += 1
        case "STARTTLS", "AUTH", "MAIL", "DATA", "QUIT", "RSET", "NOOP": lastCommand = verb
        default: break  // after AUTH: a SASL continuation (credentials), still AUTH
        }
    }

    /// Takes one reply line as libcurl received it (`250-…`, `250 …`, with or without CR LF).
    mutating func replyLineReceived<Bytes: BidirectionalCollection<UInt8>>(_ rawLine: Bytes) {
        let line = rawLine.reversed().drop { $0 == 10 || $0 == 13 }.reversed()
        let digits = line.prefix(3)
        guard digits.count == 3, digits.allSatisfy({ (48...57).contains($0) }) else { return }
        let code = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
        let rest = line.dropFirst(3)
        pendingLines.append(String(decoding: rest.dropFirst(), as: UTF8.self))
        guard rest.first != UInt8(ascii: "-") else { return }
        let text = pendingLines.joined(separator: " ")
        pendingLines = []
        var command = lastCommand
        if command == "DATA" && dataAccepted { command = "." }
        if lastCommand == "DATA" && code == 354 { dataAccepted = true }
        replies.append(Reply(command: command, recipientIndex: command == "RCPT" ? rcptCount - 1 : nil,
                             code: code, text: text.isEmpty ? "\(code)" : "\(code) \(text)"))
    }
}
