import ArgumentParser
import OutboxConfig
import OutboxCore

/// `outbox enqueue`: hands one message to the daemon through the spool, after validating it.
struct Enqueue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a message and hand it to outboxd through the spool.",
        discussion: """
            The message is a .json spool message (the fields of XNAT's MailMessage) or a finished \
            RFC 5322 message (.eml, recipients from To/Cc/Bcc). Prints the spool id. Works for any \
            member of the producer group, whether or not outboxd runs. Exit status: 0 handed over, \
            65 refused (the reason on stderr), 75 try again later, 77 no permission.

            Examples:
              outbox enqueue message.json
              echo '{"from":"xnat@example.org","tos":"alice@example.org","subject":"Hi","text":"Hello"}' | outbox enqueue --format json
              outbox enqueue --format eml - < message.eml
            """)

    @Argument(help: ArgumentHelp("The message file, or - for standard input.", valueName: "file"))
    var file: String = "-"

    @Option(
        help: ArgumentHelp(
            "json or eml (default: from the file name, else guessed from the content).", valueName: "format"))
    var format: String?

    @Option(
        help: ArgumentHelp("The spool directory (default: spool.directory from the configuration).", valueName: "dir"))
    var spool: String?

    @Option(help: ArgumentHelp("The configuration file.", valueName: "path"))
    var config: String = OutboxConfiguration.defaultPath

    func run() async throws {
        if let format, format != "json" && format != "eml" {
            throw ExitStatus.usage.fail("unknown format \"\(format)\" (use json or eml)")
        }
        let submission = try await SpoolSubmission.resolve(config: config, spool: spool)
        let content = try submission.read(path: file)
        let kind: String
        if let format {
            kind = format
        } else if file.hasSuffix(".json") || file.hasSuffix(".eml") {
            kind = file.hasSuffix(".json") ? "json" : "eml"
        } else {
            let first = content.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
            kind = first == UInt8(ascii: "{") ? "json" : "eml"
        }
        print(try submission.submit(content, extension: kind))
    }
}
