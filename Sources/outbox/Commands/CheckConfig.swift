import ArgumentParser
import Foundation
import OutboxConfig
import OutboxCore
import OutboxDelivery

/// `outbox check-config`: the configuration as the daemon reads it, then the SMTP server step by step.
struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check the configuration, then connect to the SMTP server step by step without sending mail.",
        discussion: """
            Reads the configuration exactly as outboxd does (environment, credentials, file), then \
            resolves the host, connects, reads the greeting, says EHLO, does STARTTLS and checks \
            the certificate per smtp.ssl_trust, and logs in when smtp.auth is true, printing one \
            line per step and, on failure, the setting to change. The password is never printed.

            Exit status: 0 when every step passed; 78 (EX_CONFIG) for a bad configuration or a \
            step the settings make fail (TLS, certificate, login); 69 (EX_UNAVAILABLE) when the \
            server cannot be reached or refuses now.

            Examples:
              outbox check-config
              outbox check-config --config /etc/outbox/outbox.yaml
            """)

    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "path"))
    var config: String = OutboxConfiguration.defaultPath

    func run() async throws {
        let configuration = try await loadConfiguration(config)
        do {
            try OutboxConfiguration.requirePrivatePassword(file: config)
        } catch {
            throw ExitStatus.config.fail("\(error)")  // outboxd refuses to start with it
        }
        print(Self.line("ok", "config", "\(config) is valid"))
        if !configuration.smtp.enabled {
            print(Self.line("note", "smtp", "smtp.enabled is false: outboxd queues mail and sends nothing"))
        }
        let steps = await SMTPSettingsCheck.run(
            settings: configuration.smtp, stateDirectory: Self.directory(of: configuration.queue.database))
        for step in steps {
            let status = switch step.result {
                case .passed: "ok"
                case .failed: "FAIL"
                case .notUsed: "-"
                }
            print(Self.line(status, step.name, step.detail))
            if let fix = step.fix, step.result == .failed { print(Self.line("", "", "fix: " + fix)) }
        }
        if let failure = steps.first(where: { $0.result == .failed }) {
            throw ExitCode(failure.isSettingsProblem ? ExitStatus.config.rawValue : ExitStatus.unavailable.rawValue)
        }
    }

    static func directory(of path: String) -> String {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        return directory.isEmpty ? "/" : directory
    }

    static func line(_ status: String, _ step: String, _ detail: String) -> String {
        // At least one space after the step's name ("OAuth2 token" fills the column).
        status.padding(toLength: 5, withPad: " ", startingAt: 0) + step.padding(toLength: 12, withPad: " ", startingAt: 0)
            + (step.count >= 12 ? " " : "") + detail
    }
}
