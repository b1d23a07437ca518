import ArgumentParser
import Foundation
import OutboxConfig
import OutboxCore

/// `outbox sendmail` (and `sendmail` as a link to outbox): the interface cron, `mail` and
/// scripts expect. The message comes on standard input and goes to the spool as `.eml`.
///
/// Understood: `-t` (recipients from To/Cc/Bcc, plus any given as arguments, as Postfix does),
/// `-i`/`-oi` (a line with a single dot does not end the message), `-f sender`/`-r sender`,
/// `-F "full name"` (for a From: the message lacks), `--` and recipients as arguments; also the
/// outbox options `--config` and `--spool`. Other options are ignored as sendmail ignores them
/// (`-oem`, `-odi`, `-B8BITMIME`, `-v`, …); modes other than `-bm` are refused.
struct Sendmail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue a message from standard input, like sendmail(8).",
        discussion: """
            Options: -t (recipients from To/Cc/Bcc, plus any arguments), -i/-oi (a lone "." does not \
            end the message), -f/-r SENDER (envelope sender), -F NAME (full name for a missing From), \
            --config PATH, --spool DIR; other sendmail options are ignored. Exit status: 0 queued, \
            64 usage, 65 refused, 75 try again later, 77 no permission.

            Examples:
              printf 'Subject: test\\n\\nhello\\n' | outbox sendmail -i alice@example.org
              outbox sendmail -t -oi < message.eml
              ln -s /usr/bin/outbox /usr/sbin/sendmail   # then: sendmail -t < message.eml
            """)

    @Argument(parsing: .captureForPassthrough, help: "sendmail options and recipients.")
    var arguments: [String] = []

    struct Options {
        var extractRecipients = false
        var ignoreDots = false
        var sender: String?
        var fullName: String?
        var recipients: [String] = []
        var config = OutboxConfiguration.defaultPath
        var spool: String?
    }

    /// Options of sendmail(8) that take a value, which may be attached (`-B8BITMIME`) or next.
    private static let optionsWithValue: Set<Character> = ["B", "C", "L", "N", "O", "R", "V", "X", "h", "p", "q"]

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var index = 0
        func value(_ argument: String) throws -> String {
            if argument.count > 2 { return String(argument.dropFirst(2)) }
            index += 1
            guard index < arguments.count else { throw ExitStatus.usage.fail("option \(argument) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                options.recipients += arguments[(index + 1)...]
                break
            } else if argument == "--help" {
                throw CleanExit.helpRequest(Sendmail.self)
            } else if argument == "--config" || argument == "--spool" {
                index += 1
                guard index < arguments.count else { throw ExitStatus.usage.fail("\(argument) needs a value") }
                if argument == "--config" {
                    options.config = arguments[index]
                } else {
                    options.spool = arguments[index]
                }
            } else if argument.hasPrefix("-") && argument.count > 1 {
                let letter = argument[argument.index(after: argument.startIndex)]
                switch letter {
                case "t": options.extractRecipients = true
                case "i": options.ignoreDots = true
                case "o": if argument == "-oi" { options.ignoreDots = true }  // other -oX: ignored
                case "f", "r": options.sender = try value(argument)
                case "F": options.fullName = try value(argument)
                case "b":
                    guard argument == "-bm" else {
                        throw ExitStatus.usage.fail(
                            "\(argument) is not supported: only delivering a message (-bm) is; see outbox list for the queue"
                        )
                    }
                default:
                    if optionsWithValue.contains(letter) { _ = try value(argument) }  // ignored, with its value
                }
            } else {
                options.recipients.append(argument)
            }
            index += 1
        }
        return options
    }

    func run() async throws {
        let options = try Self.parse(arguments)
        if !options.extractRecipients && options.recipients.isEmpty {
            throw ExitStatus.usage.fail("no recipients: give them as arguments, or use -t to read To:, Cc: and Bcc:")
        }
        let submission = try await SpoolSubmission.resolve(config: options.config, spool: options.spool)
        var input = try submission.read(path: nil)
        if !options.ignoreDots { input = Self.cutAtLoneDot(input) }

        var recipients: [String] = []
        for argument in options.recipients {
            for spec in AddressList.addrSpecs(in: argument) {
                if Self.isLocalName(spec) {
                    // cron and mail(1) write to local users ("root"); like nullmailer's adminaddr,
                    // their mail goes to the site's admin address.
                    guard let admin = submission.defaultSender else {
                        throw ExitStatus.dataError.fail(
                            "local recipient \"\(spec.printableExcerpt)\" has no domain: set smtp.from, the admin address mail for local users is sent to")
                    }
                    recipients.append(admin.value)
                    continue
                }
                do {
                    recipients.append(try EmailAddress(spec).value)
                } catch {
                    throw ExitStatus.dataError.fail("invalid recipient \"\(spec.printableExcerpt)\": \(error)")
                }
            }
        }
        var sender: String?
        if let given = options.sender {
            do {
                sender = try EmailAddress(given).value
            } catch {
                throw ExitStatus.dataError.fail("invalid sender (-f) \"\(given.printableExcerpt)\": \(error)")
            }
        }
        if !options.extractRecipients && recipients.isEmpty {
            throw ExitStatus.usage.fail("no recipients: the arguments name no address")
        }

        var raw: RawMessage
        do {
            raw = try RawMessage(normalizing: input)
        } catch {
            throw ExitStatus.dataError.fail("message refused: \(error)")
        }
        // The envelope fields are ours to write from the arguments: one that came in with the message
        // (mail relayed through fetchmail, a web form) would otherwise redirect it (issue 14).
        raw.removeFields(where: { $0.lowercased().hasPrefix(Self.envelopeFieldPrefix) })
        // Without -f, a From: that holds no address (cron's "root (Cron Daemon)") sends as smtp.from.
        if sender == nil, !options.extractRecipients, let admin = submission.defaultSender,
            !raw.values(of: "From").contains(where: { value in
                AddressList.addrSpecs(in: value).contains { (try? EmailAddress($0)) != nil }
            })
        {
            sender = admin.value
        }
        var header: [String] = []
        if let fullName = options.fullName, raw.values(of: "From").isEmpty,
            let address = sender ?? submission.defaultSender?.value
        {
            let name = fullName.unicodeScalars.contains { $0.value < 0x20 } ? "" : RFC2047.encodePhrase(fullName)
            header.append("From: \(name) <\(address)>")
        }
        if let sender { header.append("\(IncomingMessage.envelopeSenderField): \(sender)") }
        if !recipients.isEmpty {
            var all = recipients
            if options.extractRecipients {
                // Postfix's -t: the header's recipients plus the arguments.
                var context = IncomingMessage.Context(
                    defaultSender: submission.defaultSender, hostname: "localhost", now: UnixTime(seconds: 0),
                    uniqueToken: "x")
                if let sender { context.defaultSender = try? EmailAddress(sender) }
                if let fromHeaders = try? IncomingMessage(eml: raw.bytes, context: context) {
                    all = fromHeaders.envelope.recipients.map(\.value) + recipients
                }
            }
            header.append("\(IncomingMessage.envelopeRecipientsField): \(all.joined(separator: ", "))")
        }
        let content = header.isEmpty ? raw.bytes : Array(header.map { $0 + "\r\n" }.joined().utf8) + raw.bytes
        _ = try submission.submit(content, extension: "eml")
    }

    /// `x-outbox-envelope-`: the start of every field name the spool reserves for the envelope.
    static let envelopeFieldPrefix = "x-outbox-envelope-"

    /// A local user name such as `root` or `www-data`: no `@`, only characters a login name has.
    static func isLocalName(_ spec: String) -> Bool {
        !spec.isEmpty && !spec.contains("@")
            && spec.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// Classic sendmail without -i: a line holding only "." ends the message.
    static func cutAtLoneDot(_ input: [UInt8]) -> [UInt8] {
        var lineStart = 0
        var index = 0
        while index <= input.count {
            if index == input.count || input[index] == 0x0A {
                var line = input[lineStart..<index]
                if line.last == 0x0D { line = line.dropLast() }
                if line.count == 1 && line.first == UInt8(ascii: ".") { return Array(input[..<lineStart]) }
                lineStart = index + 1
            }
            index += 1
        }
        return input
    }
}
