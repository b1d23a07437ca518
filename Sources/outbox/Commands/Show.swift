import ArgumentParser
import Foundation
import OutboxConfig
import OutboxCore
import OutboxStore
import OutboxSystem

/// `outbox show ID`: everything about one message — envelope, headers, recipients, attempts.
struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one message: envelope, state, headers, recipients and every attempt with the server's reply.",
        discussion: """
            An unknown id exits 65 (EX_DATAERR).

            Examples:
              outbox show 0000002A
              outbox show 0000002A --body > message.eml
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The queue id, as `outbox list` shows it.", valueName: "id"))
    var id: String

    @Flag(name: .long, help: "Print only the raw message as stored (headers and body, CRLF line ends, Bcc removed).")
    var body = false

    func run() async throws {
        guard let queueID = QueueID(id) else {
            throw ExitStatus.dataError.fail("\"\(id)\" is not a queue id (8 or more hex digits, as `outbox list` shows)")
        }
        let store = try await global.openQueue()
        let now = UnixTime.current
        let detail: QueueMessageDetail?
        do {
            detail = try await store.message(queueID, now: now)
        } catch {
            throw queueFailure(error, path: store.path, action: "read")
        }
        guard let detail else { throw ExitStatus.dataError.fail("no message with queue id \(queueID)") }
        if body {
            if let dropped = detail.contentDroppedAt {
                throw ExitStatus.noInput.fail(
                    "the content of message \(queueID) was dropped after delivery \(dropped.relative(to: now)) "
                        + "(queue.keep_sent_content is off); `outbox show \(queueID)` has its headers, recipients and attempts")
            }
            FileHandle.standardOutput.write(Data(detail.content))
        } else {
            // smtp.from_policy: rewrite changes the From of the copy being sent: show it beside the original.
            var rewrite: FromRewrite?
            if global.database == nil, let smtp = try? await OutboxConfiguration.load(file: global.config).smtp,
                smtp.fromPolicy == .rewrite, let mailbox = smtp.from
            {
                rewrite = FromRewrite(mailbox: mailbox)
            }
            print(Self.describe(detail, now: now, fromRewrite: rewrite), terminator: "")
        }
    }

    static func describe(_ detail: QueueMessageDetail, now: UnixTime, fromRewrite: FromRewrite? = nil) -> String {
        let entry = detail.entry
        var state = entry.state.rawValue
        switch entry.state {
        case .queued, .deferred:
            state += entry.inFlight ? ", being sent now" : ", next attempt \(max(entry.nextAttemptAt, now).relative(to: now))"
        default:
            state += " \(detail.updatedAt.relative(to: now))"
        }
        var fields: [(String, String)] = [
            ("Queue ID", "\(entry.id)"),
            ("State", state),
            ("Arrived", "\(entry.createdAt.relative(to: now)) (\(entry.createdAt.iso8601))"),
            ("Size", "\(entry.size) bytes"),
            ("Attempts", "\(entry.attempts)"),
            ("Sender", entry.sender.isEmpty ? "<>" : entry.sender.escapingControlCharacters),
        ]
        if let origin = entry.origin { fields.insert(("Source", origin.escapingControlCharacters), at: 3) }
        if let error = entry.lastError { fields.append(("Last error", error.escapingControlCharacters)) }
        if let dropped = detail.contentDroppedAt {
            fields.append(("Content", "body dropped after delivery \(dropped.relative(to: now)); headers kept"))
        }
        if let fromRewrite {
            let stored = RawMessage(normalizedBytes: detail.content)
            let sent = fromRewrite.apply(to: stored)
            if sent != stored, let from = sent.values(of: "From").first {
                fields.append(("Sent as", "From: \(from.escapingControlCharacters) (smtp.from_policy: rewrite; the headers below are the original)"))
            }
        }
        var out = fields.map { "\($0.0 + ":")".padding(toLength: 12, withPad: " ", startingAt: 0) + $0.1 }
            .joined(separator: "\n") + "\n"

        out += "\nRecipients:\n"
        let width = entry.recipients.map(\.address.count).max() ?? 0
        for recipient in entry.recipients {
            out += "  " + recipient.address.escapingControlCharacters.padding(toLength: width, withPad: " ", startingAt: 0)
                + "  " + recipient.state
            if let reply = recipient.lastReply { out += "  " + reply.escapingControlCharacters }
            out += "\n"
        }

        out += "\nHeaders:\n"
        for field in RawMessage(normalizedBytes: detail.content).fields {
            for line in field.lines { out += "  " + String(decoding: line, as: UTF8.self).escapingControlCharacters + "\n" }
        }

        out += "\nAttempts:\n"
        if detail.attempts.isEmpty { out += "  none yet\n" }
        for (number, attempt) in detail.attempts.enumerated() {
            out += "  \(number + 1). \(attempt.startedAt.iso8601) (\(attempt.startedAt.relative(to: now)))  \(attempt.outcome)"
                + "  \(attempt.server.escapingControlCharacters)  \(attempt.duration.wholeMilliseconds) ms\n"
            out += "     \(attempt.reply.escapingControlCharacters)\n"
        }
        return out
    }
}

extension String {
    /// The text with control characters (C0 but tab, DEL, C1) shown as `\xHH`: a header holding
    /// ESC sequences must not drive the admin's terminal (issue 14).
    var escapingControlCharacters: String {
        guard unicodeScalars.contains(where: Self.isControl) else { return self }
        var out = ""
        for scalar in unicodeScalars {
            if Self.isControl(scalar) {
                out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16, uppercase: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t") || (scalar.value >= 0x7F && scalar.value < 0xA0)
    }
}
