import Foundation
import OutboxConfig
import OutboxCore
import OutboxSystem

#if canImport(Glibc)
    import Glibc
#endif

/// What `enqueue` and `sendmail` share: where the spool is, the size limit, and the same
/// validation the daemon applies, so a bad message fails here, synchronously.
struct SpoolSubmission {
    var spoolDirectory: String
    var maxMessageSize: Int
    var defaultSender: EmailAddress?
    /// Whether the configuration was read: if not, the daemon's smtp.from is unknown here and a
    /// message without From: is left for the daemon to judge.
    var configurationRead = false

    /// Reads the configuration when it exists; `--spool` wins. Producers may be unable to read
    /// the configuration: then the defaults apply (with `--spool`, any problem is ignored).
    static func resolve(config: String, spool: String?) async throws -> SpoolSubmission {
        var settings = SpoolSettings()
        var sender: EmailAddress?
        var read = false
        if access(config, F_OK) == 0 {
            do {
                let configuration = try await OutboxConfiguration.load(file: config)
                settings = configuration.spool
                sender = configuration.smtp.from
                read = true
            } catch {
                if spool == nil { throw ExitStatus.config.fail("\(error)") }
            }
        }
        return SpoolSubmission(
            spoolDirectory: spool ?? settings.directory, maxMessageSize: settings.maxMessageSize,
            defaultSender: sender, configurationRead: read)
    }

    /// Validates like the daemon, then hands over; returns the spool id. Exits 65/75/77 on failure.
    func submit(_ content: [UInt8], extension fileExtension: String) throws -> String {
        guard content.count <= maxMessageSize else {
            throw ExitStatus.dataError.fail(
                "the message is \(content.count) bytes, over spool.max_message_size (\(maxMessageSize))")
        }
        var name = [UInt8](repeating: 0, count: 256)
        _ = name.withUnsafeMutableBytes { gethostname($0.baseAddress!.assumingMemoryBound(to: CChar.self), 255) }
        let context = IncomingMessage.Context(
            defaultSender: defaultSender ?? (configurationRead ? nil : try? EmailAddress("unknown@smtp.from.invalid")),
            hostname: String(decoding: name.prefix { $0 != 0 }, as: UTF8.self),
            now: .current,
            uniqueToken: "check")
        do {
            _ = try IncomingMessage(spoolFileNamed: "message." + fileExtension, content: content, context: context)
        } catch {
            throw ExitStatus.dataError.fail("message refused: \(error.reason)")
        }
        do {
            return try SpoolWriter(directory: spoolDirectory).write(content, extension: fileExtension)
        } catch .permission(let text) {
            throw ExitStatus.noPermission.fail(text)
        } catch .temporary(let text) {
            throw ExitStatus.tempFail.fail(text + "; try again later")
        }
    }

    /// Reads all of standard input or a file, refusing more than the size limit.
    func read(path: String?) throws -> [UInt8] {
        let fd: Int32 = path == nil || path == "-" ? 0 : open(path!, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ExitStatus.noInput.fail("cannot open \(path!): \(String(cString: strerror(errno)))")
        }
        defer { if fd != 0 { close(fd) } }
        let content: [UInt8]
        do {
            content = try FileDescriptorIO.readAll(fd, upTo: maxMessageSize + 1, path: path ?? "standard input")
        } catch {
            throw ExitStatus.tempFail.fail("cannot read the message: \(error.reason)")
        }
        guard content.count <= maxMessageSize else {
            throw ExitStatus.dataError.fail("the message is over spool.max_message_size (\(maxMessageSize) bytes)")
        }
        return content
    }
}

extension Error {
    var reason: String { (self as? IncomingMessage.Rejection)?.reason ?? "\(self)" }
}
