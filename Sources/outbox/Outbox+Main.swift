import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

extension Outbox {
    /// Runs the command line; invoked as `sendmail` (a link to outbox), behaves as `outbox sendmail`.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let invokedAs = CommandLine.arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? ""
        if invokedAs == "sendmail" { arguments.insert("sendmail", at: 0) }
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
