import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

extension Outbox {
    /// Runs the command line; invoked as `sendmail` or `mailq` (links to outbox), behaves as `outbox
    /// sendmail` or `outbox mailq`; as `newaliases`, does nothing and exits 0.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let invokedAs = CommandLine.arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? ""
        switch invokedAs {
        case "sendmail": arguments.insert("sendmail", at: 0)
        case "mailq": arguments.insert("mailq", at: 0)
        // Like nullmailer's and dma's: there is no aliases database to rebuild; relays resolve aliases.
        case "newaliases": Glibc.exit(0)
        default: break
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
