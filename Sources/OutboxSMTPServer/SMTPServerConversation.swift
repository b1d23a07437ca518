public import OutboxCore

/// The server side of one SMTP session (RFC 5321, with the submission rules of RFC 6409 §8 that
/// apply to a local queue), as a pure state machine: bytes from the client go in, replies and
/// actions come out. It does no I/O, reads no clock and never blocks; the NIO handler in
/// OutboxListener feeds it and carries out what it returns.
///
/// - Commands: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, VRFY (252), HELP; everything else
///   is refused with a reason. Extensions: PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES.
///   SMTPUTF8 is not offered: the queue's addresses are ASCII (``EmailAddress``).
/// - Pipelining (RFC 2920): input may hold many commands; they are answered in order. While a
///   message is being committed (``Action/submit(_:)``), further input waits in ``pending`` and is
///   only read once ``commitFinished(_:)`` has answered the final dot.
/// - SMTP smuggling is impossible: the end of data is only CRLF.CRLF; a bare LF or bare CR anywhere
///   in DATA refuses the whole message (554 5.5.2) — stricter than Postfix's
///   `smtpd_forbid_bare_newline = normalize` (its default since 3.9), as strict as `reject`, and
///   bare CR too. Command lines must end in CRLF as well.
public struct SMTPServerConversation: Sendable {
    /// What a session is allowed; the listener's configuration.
    public struct Limits: Sendable, Hashable {
        /// The name in the greeting, the EHLO reply and the Received: header.
        public var hostname: String
        public var maxRecipients: Int
        public var maxMessageSize: Int
        /// Errors (4xx/5xx replies to commands) before the session is closed, as Postfix's
        /// `smtpd_hard_error_limit` (20).
        public var maxErrors: Int

        public init(hostname: String, maxRecipients: Int = 1000, maxMessageSize: Int = 25 * 1024 * 1024,
                    maxErrors: Int = 20) {
            self.hostname = hostname
            self.maxRecipients = maxRecipients
            self.maxMessageSize = maxMessageSize
            self.maxErrors = maxErrors
        }
    }

    /// A complete message with its envelope, for the caller to commit. The reply to the final dot
    /// waits for ``commitFinished(_:)``.
    public struct Submission: Sendable, Hashable {
        public var sender: EmailAddress
        public var recipients: [EmailAddress]
        /// The message as received, CRLF line ends, dot-unstuffed, without the final `.` line.
        public var content: [UInt8]
        /// The client's EHLO/HELO name.
        public var heloName: String
        public var usedESMTP: Bool
    }

    /// What the caller does, in order.
    public enum Action: Sendable, Hashable {
        /// Write this reply (the caller may collect replies and flush once per read).
        case reply(SMTPReply)
        /// Commit this message durably, then call ``commitFinished(_:)``.
        case submit(Submission)
        /// Close the connection after writing the replies before it.
        case close
    }

    /// How the commit of a ``Submission`` ended.
    public enum CommitResult: Sendable, Hashable {
        /// Durably queued under this id.
        case queued(queueID: String)
        /// The message itself is unacceptable (e.g. no header); the reason is for the client.
        case rejected(reason: String)
        /// The queue cannot take it now (disk full, database busy): the client keeps the message.
        case temporaryFailure
    }

    enum Phase: Sendable, Hashable {
        case command
        case data
        case committing
        case closed
    }

    public let limits: Limits
    /// The line the session is at and what it has seen.
    private(set) var phase = Phase.command
    private var heloName: String?
    private var usedESMTP = false
    private var sender: EmailAddress?
    private var recipients: [EmailAddress] = []
    private var errors = 0

    // Command-line assembly.
    private var line: [UInt8] = []
    private var lineTooLong = false

    // DATA reception.
    private var data = DataReceiver()

    /// Input received while a commit is running; read once it has finished.
    private(set) var pending: [UInt8] = []

    /// Command lines are at most 512 octets, CRLF included (RFC 5321 §4.5.3.1.4).
    public static let maxCommandLine = 512

    public init(limits: Limits) {
        self.limits = limits
    }

    /// True while a message is being committed: a shutdown should let it finish and answer first.
    public var isCommitting: Bool { phase == .committing }

    // MARK: Events

    /// The greeting, sent when the client connects.
    public func greeting() -> [Action] {
        [.reply(SMTPReply(220, nil, "\(limits.hostname) ESMTP outbox"))]
    }

    /// The client is refused before the greeting (not allowed, too many connections).
    public static func refusal(_ reply: SMTPReply) -> [Action] { [.reply(reply), .close] }

    /// Bytes from the client; returns what to do, in order.
    public mutating func receive(_ input: some Collection<UInt8>) -> [Action] {
        // One copy into an array (a memcpy for contiguous input such as NIO's ByteBufferView): the
        // byte loops below then run on a concrete type this module specializes, not generically.
        let bytes = input.withContiguousStorageIfAvailable { Array($0) } ?? Array(input)
        return receive(bytes: bytes[...])
    }

    private mutating func receive(bytes input: ArraySlice<UInt8>) -> [Action] {
        var actions: [Action] = []
        if phase == .committing {
            pending.append(contentsOf: input)
            return actions
        }
        guard phase != .closed else { return actions }
        var index = input.startIndex
        while index != input.endIndex {
            switch phase {
            case .closed:
                return actions
            case .committing:
                pending.append(contentsOf: input[index...])
                return actions
            case .data:
                let (consumed, ended) = data.consume(input[index...], maxSize: limits.maxMessageSize)
                index = consumed
                if ended { actions.append(contentsOf: endOfData()) }
            case .command:
                let byte = input[index]
                input.formIndex(after: &index)
                if byte == UInt8(ascii: "\n") {
                    actions.append(contentsOf: endOfCommandLine())
                } else if line.count < Self.maxCommandLine - 1 {  // CR included; LF is the 512th
                    line.append(byte)
                } else {
                    lineTooLong = true
                }
            }
        }
        return actions
    }

    /// The commit of the last ``Action/submit(_:)`` finished; answers the final dot and goes on
    /// with any pipelined input that arrived meanwhile.
    public mutating func commitFinished(_ result: CommitResult) -> [Action] {
        guard phase == .committing else { return [] }
        phase = .command
        var actions: [Action]
        switch result {
        case .queued(let id):
            actions = [.reply(SMTPReply(250, "2.0.0", "Ok: queued as \(id)"))]
        case .rejected(let reason):
            actions = [.reply(SMTPReply(554, "5.6.0", "Message refused: \(reason)"))]
        case .temporaryFailure:
            actions = [.reply(SMTPReply(451, "4.3.0", "Queue cannot commit the message now; try again later"))]
        }
        resetTransaction()
        let input = pending
        pending = []
        actions.append(contentsOf: receive(input))
        return actions
    }

    /// The daemon is stopping. A session in the middle of a message (DATA, or its commit) is let
    /// finish first: the caller calls this again after each read and after ``commitFinished(_:)``.
    public mutating func shutdown() -> [Action] {
        guard phase == .command else { return [] }
        phase = .closed
        return [.reply(SMTPReply(421, "4.3.2", "\(limits.hostname) Service shutting down, closing connection")), .close]
    }

    /// The client said nothing for the idle timeout.
    public mutating func idleTimeout() -> [Action] {
        guard phase != .closed, phase != .committing else { return [] }
        phase = .closed
        return [.reply(SMTPReply(421, "4.4.2", "\(limits.hostname) Error: timeout exceeded, closing connection")), .close]
    }

    // MARK: Commands

    private mutating func endOfCommandLine() -> [Action] {
        var raw = line
        let tooLong = lineTooLong
        line = []
        lineTooLong = false
        if tooLong {
            return error(SMTPReply(500, "5.5.6", "Error: command line too long (at most \(Self.maxCommandLine) octets with CRLF)"))
        }
        guard raw.last == UInt8(ascii: "\r") else {
            return error(SMTPReply(500, "5.5.2", "Error: bare LF in command; lines must end with CRLF"))
        }
        raw.removeLast()
        if raw.contains(UInt8(ascii: "\r")) {
            return error(SMTPReply(500, "5.5.2", "Error: bare CR in command; lines must end with CRLF"))
        }
        if raw.contains(0) {
            return error(SMTPReply(500, "5.5.2", "Error: NUL in command"))
        }
        let text = String(decoding: raw, as: UTF8.self)
        let verbEnd = text.firstIndex(of: " ") ?? text.endIndex
        let verb = text[..<verbEnd].uppercased()
        let argument = text[verbEnd...].drop(while: { $0 == " " })
        switch verb {
        case "EHLO", "HELO": return hello(verb == "EHLO", name: String(argument).trimmingTrailingSpaces)
        case "MAIL": return mail(String(argument))
        case "RCPT": return rcpt(String(argument))
        case "DATA": return dataCommand(argument: String(argument))
        case "RSET":
            resetTransaction()
            return [.reply(SMTPReply(250, "2.0.0", "Ok"))]
        case "NOOP": return [.reply(SMTPReply(250, "2.0.0", "Ok"))]
        case "QUIT":
            phase = .closed
            return [.reply(SMTPReply(221, "2.0.0", "Bye")), .close]
        case "VRFY": return [.reply(SMTPReply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery"))]
        case "EXPN": return error(SMTPReply(502, "5.5.1", "Error: EXPN is not supported"))
        case "HELP": return [.reply(SMTPReply(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"))]
        case "STARTTLS", "AUTH", "BDAT", "ETRN", "TURN", "ATRN":
            return error(SMTPReply(502, "5.5.1", "Error: \(verb) is not supported here (loopback submission, no TLS or AUTH)"))
        case "GET", "POST", "CONNECT", "PUT", "HEAD":
            // A web client or proxy abuse (Postfix's smtpd_forbidden_commands): end at once.
            phase = .closed
            return [.reply(SMTPReply(221, "2.7.0", "Error: I can break rules, too. Goodbye.")), .close]
        default:
            return error(SMTPReply(500, "5.5.2", "Error: command not recognized"))
        }
    }

    private mutating func hello(_ extended: Bool, name: String) -> [Action] {
        guard !name.isEmpty, !name.contains(" ") else {
            return error(SMTPReply(501, "5.5.4", "Syntax: \(extended ? "EHLO" : "HELO") hostname"))
        }
        resetTransaction()
        heloName = name
        usedESMTP = extended
        guard extended else { return [.reply(SMTPReply(250, nil, limits.hostname))] }
        return [.reply(SMTPReply(250, nil, lines: [
            limits.hostname, "PIPELINING", "SIZE \(limits.maxMessageSize)", "8BITMIME", "ENHANCEDSTATUSCODES",
        ]))]
    }

    private mutating func mail(_ argument: String) -> [Action] {
        guard heloName != nil else { return error(SMTPReply(503, "5.5.1", "Error: send EHLO or HELO first")) }
        guard sender == nil else { return error(SMTPReply(503, "5.5.1", "Error: nested MAIL command")) }
        let path: SMTPPath
        switch SMTPPath.parse(argument, keyword: "FROM:") {
        case .failure(let problem): return error(problem.reply(for: .sender))
        case .success(let parsed): path = parsed
        }
        for (key, value) in path.parameters {
            switch key {
            case "SIZE":
                guard let value, let size = Int(value), size >= 0 else {
                    return error(SMTPReply(501, "5.5.4", "Bad SIZE parameter"))
                }
                if size > limits.maxMessageSize {
                    return error(SMTPReply(552, "5.3.4", "Message size exceeds fixed limit of \(limits.maxMessageSize) bytes"))
                }
            case "BODY":
                guard let value, ["7BIT", "8BITMIME"].contains(value.uppercased()) else {
                    return error(SMTPReply(501, "5.5.4", "Bad BODY parameter (7BIT or 8BITMIME)"))
                }
            default:
                return error(SMTPReply(555, "5.5.4", "Unsupported MAIL parameter \(key)"))
            }
        }
        guard let address = path.address else {
            return error(SMTPReply(553, "5.1.7", "Null sender <> not accepted: outbox queues mail for relay and sends no bounces of others' mail"))
        }
        switch validated(address) {
        case .failure(let problem): return error(SMTPReply(553, "5.1.7", "Bad sender address syntax: \(problem)"))
        case .success(let sender): self.sender = sender
        }
        return [.reply(SMTPReply(250, "2.1.0", "Ok"))]
    }

    private mutating func rcpt(_ argument: String) -> [Action] {
        guard sender != nil else { return error(SMTPReply(503, "5.5.1", "Error: need MAIL command")) }
        let path: SMTPPath
        switch SMTPPath.parse(argument, keyword: "TO:") {
        case .failure(let problem): return error(problem.reply(for: .recipient))
        case .success(let parsed): path = parsed
        }
        if let (key, _) = path.parameters.first {
            return error(SMTPReply(555, "5.5.4", "Unsupported RCPT parameter \(key)"))
        }
        guard let address = path.address else {
            return error(SMTPReply(553, "5.1.3", "Bad recipient address syntax: it is empty"))
        }
        let recipient: EmailAddress
        switch validated(address) {
        case .failure(let problem): return error(SMTPReply(553, "5.1.3", "Bad recipient address syntax: \(problem)"))
        case .success(let valid): recipient = valid
        }
        if recipients.contains(recipient) { return [.reply(SMTPReply(250, "2.1.5", "Ok"))] }
        guard recipients.count < limits.maxRecipients else {
            return error(SMTPReply(452, "4.5.3", "Error: too many recipients (at most \(limits.maxRecipients) per message)"))
        }
        recipients.append(recipient)
        return [.reply(SMTPReply(250, "2.1.5", "Ok"))]
    }

    private mutating func dataCommand(argument: String) -> [Action] {
        guard argument.isEmpty else { return error(SMTPReply(501, "5.5.4", "Syntax: DATA (no argument)")) }
        guard sender != nil else { return error(SMTPReply(503, "5.5.1", "Error: need MAIL command")) }
        guard !recipients.isEmpty else { return error(SMTPReply(554, "5.5.1", "Error: no valid recipients")) }
        phase = .data
        data = DataReceiver()
        return [.reply(SMTPReply(354, nil, "End data with <CR><LF>.<CR><LF>"))]
    }

    private mutating func endOfData() -> [Action] {
        let received = data
        data = DataReceiver()
        phase = .command
        if let bare = received.bareLineEnd {
            resetTransaction()
            return error(SMTPReply(554, "5.5.2", "Message refused: bare \(bare) in the message (lines must end with CRLF; see SMTP smuggling)"))
        }
        if received.tooLarge {
            resetTransaction()
            return error(SMTPReply(552, "5.3.4", "Message size exceeds fixed limit of \(limits.maxMessageSize) bytes"))
        }
        guard let sender, let heloName else { return [] }  // unreachable: DATA checked both
        phase = .committing
        return [.submit(Submission(sender: sender, recipients: recipients, content: received.content,
                                   heloName: heloName, usedESMTP: usedESMTP))]
    }

    // MARK: Helpers

    private mutating func resetTransaction() {
        sender = nil
        recipients = []
    }

    /// Counts the error; past ``Limits/maxErrors`` the session ends (Postfix's hard error limit).
    private mutating func error(_ reply: SMTPReply) -> [Action] {
        errors += 1
        guard errors >= limits.maxErrors else { return [.reply(reply)] }
        phase = .closed
        return [.reply(reply), .reply(SMTPReply(421, "4.7.0", "\(limits.hostname) Error: too many errors")), .close]
    }

    private func validated(_ address: String) -> Result<EmailAddress, AddressProblem> {
        do {
            let valid = try EmailAddress(address)
            guard valid.domain.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "[" || $0 == "]" || $0 == ":" }),
                !valid.domain.hasPrefix("."), !valid.domain.hasSuffix(".")
            else { return .failure(AddressProblem("its domain \"\(valid.domain)\" is not a host name")) }
            return .success(valid)
        } catch {
            return .failure(AddressProblem(error.description))
        }
    }
}

struct AddressProblem: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var copy = self
        while copy.last == " " || copy.last == "\t" { copy.removeLast() }
        return copy
    }
}
