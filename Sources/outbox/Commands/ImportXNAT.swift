import ArgumentParser
import Foundation
import OutboxConfig
import OutboxCore

/// `outbox import-xnat`: turns XNAT's mail settings into outbox YAML.
struct ImportXNAT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-xnat",
        abstract: "Print the outbox configuration equivalent to XNAT's prefs-init.ini (and prefs-override.ini).",
        discussion: """
            Reads [notifications] (smtpEnabled, smtpHostname, smtpPort, smtpUsername, smtpProtocol, \
            smtpAuth, smtpStartTls, smtpSslTrust, emailPrefix, and the aliases hostname, port, \
            protocol, username) and [siteConfig] adminEmail (the default sender). Values in the \
            override file win. The password is never printed: the output says where to put it.

            Examples:
              outbox import-xnat /data/xnat/home/config/prefs-init.ini
              outbox import-xnat prefs-init.ini prefs-override.ini > /etc/outbox/outbox.yaml
            """)

    @Argument(help: ArgumentHelp("XNAT's prefs-init.ini.", valueName: "prefs-init.ini"))
    var initial: String

    @Argument(help: ArgumentHelp("XNAT's prefs-override.ini (optional; wins over the first).", valueName: "prefs-override.ini"))
    var override: String?

    func run() async throws {
        let initialDocument = try Self.read(initial)
        let overrideDocument = try override.map(Self.read)
        let preferences = XNATPreferences(initial: initialDocument, override: overrideDocument)
        do {
            let sources = [initial, override].compactMap { $0.map { URL(fileURLWithPath: $0).lastPathComponent } }
            print(try preferences.yaml(sources: sources), terminator: "")
        } catch {
            throw ExitStatus.dataError.fail("cannot import the XNAT setting \(error)")
        }
    }

    static func read(_ path: String) throws -> INIDocument {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw (exists ? ExitStatus.noPermission : ExitStatus.noInput)
                .fail("cannot read \(path): \(exists ? "permission denied" : "no such file")")
        }
        do {
            return try INIDocument(parsing: String(decoding: data, as: UTF8.self))
        } catch {
            throw ExitStatus.dataError.fail("\(path): \(error)")
        }
    }
}
