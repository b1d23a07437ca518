import Foundation
import OutboxConfig
import OutboxCore

/// `outbox-fuzz` — the bad-input fault run (issue 8): feeds mutated spool files through the same
/// parser intake uses (`IncomingMessage(spoolFileNamed:content:context:)`, .json and .eml) and
/// mutated YAML through the configuration loader, all in-process with a deterministic PRNG.
///
/// A crash ends the process (the script sees the signal); a rejection whose reason is empty or
/// spans several lines is counted as a violation. Prints one summary line per parser family and
/// exits 1 on any violation.
///
/// Usage: outbox-fuzz SPOOL_INPUTS CONFIG_INPUTS [SEED] [SCRATCH_DIR]
///        outbox-fuzz --structured COUNT MAX_SIZE [SEED]   (structure-aware hostile inputs, each
///        timed and measured; see Fuzz+Structured.swift)
///        outbox-fuzz --files COUNT SPOOL_DIR [SEED]   (writes COUNT mutated spool files the
///        producer way, tmp/ then rename into new/, for the end-to-end check)
///        outbox-fuzz --smtp SESSIONS [SEED]   (the SMTP listener's conversation: SMTPConversationFuzz)
@main
struct Fuzz {
    static func main() async {
        let arguments = CommandLine.arguments
        if arguments.count > 2 && arguments[1] == "--smtp" {
            exit(SMTPConversationFuzz.run(sessions: Int(arguments[2]) ?? 10_000, seed: arguments.count > 3 ? UInt64(arguments[3]) ?? 1 : 1))
        }
        if arguments.count > 3 && arguments[1] == "--structured" {
            exit(structured(
                count: Int(arguments[2]) ?? 10_000, maximumSize: Int(arguments[3]) ?? 26_214_400,
                seed: arguments.count > 4 ? UInt64(arguments[4]) ?? 1 : 1))
        }
        if arguments.count > 3 && arguments[1] == "--files" {
            writeFiles(count: Int(arguments[2]) ?? 200, spool: arguments[3], seed: arguments.count > 4 ? UInt64(arguments[4]) ?? 1 : 1)
            return
        }
        let spoolInputs = arguments.count > 1 ? Int(arguments[1]) ?? 1_000_000 : 1_000_000
        let configInputs = arguments.count > 2 ? Int(arguments[2]) ?? 10_000 : 10_000
        let seed = arguments.count > 3 ? UInt64(arguments[3]) ?? 1 : 1
        let scratch = arguments.count > 4 ? arguments[4] : NSTemporaryDirectory()
        var random = SplitMix64(seed: seed)
        var violations = 0

        let context = IncomingMessage.Context(
            defaultSender: nil, hostname: "fuzz.example.org", now: UnixTime(seconds: 1_795_000_000), uniqueToken: "fuzz")
        var accepted = 0
        var rejected = 0
        let start = Date()
        for index in 0..<spoolInputs {
            let (name, seedText) = Seeds.spool[Int(random.next() % UInt64(Seeds.spool.count))]
            let input = Mutator.mutate(Array(seedText.utf8), random: &random, splice: Seeds.spool.map { Array($0.1.utf8) })
            do {
                _ = try IncomingMessage(spoolFileNamed: name, content: input, context: context)
                accepted += 1
            } catch {
                rejected += 1
                if !isOneLine(error.reason) {
                    violations += 1
                    if violations <= 10 { print("fuzz: spool input \(index) (\(name)): rejection is not one line: \(String(error.reason.debugDescription.prefix(300)))") }
                }
            }
        }
        let spoolSeconds = Date().timeIntervalSince(start)
        print(String(
            format: "fuzz spool: inputs=%d accepted=%d rejected=%d bad_reasons=%d crashes=0 seconds=%.1f inputs_per_s=%.0f",
            spoolInputs, accepted, rejected, violations, spoolSeconds, Double(spoolInputs) / max(spoolSeconds, 0.001)))

        let path = scratch + "/fuzz-\(getpid()).yaml"
        var configAccepted = 0
        var configRejected = 0
        var configViolations = 0
        let configStart = Date()
        for index in 0..<configInputs {
            let seedText = Seeds.config[Int(random.next() % UInt64(Seeds.config.count))]
            let input = Mutator.mutate(Array(seedText.utf8), random: &random, splice: Seeds.config.map { Array($0.utf8) })
            _ = FileManager.default.createFile(atPath: path, contents: Data(input))
            do {
                _ = try await OutboxConfiguration.load(file: path, environment: [:], credentialsDirectory: nil)
                configAccepted += 1
            } catch {
                configRejected += 1
                if !isOneLine(error.description) {
                    configViolations += 1
                    if configViolations <= 10 { print("fuzz: config input \(index): rejection is not one line: \(String(error.description.debugDescription.prefix(300)))") }
                }
            }
        }
        unlink(path)
        let configSeconds = Date().timeIntervalSince(configStart)
        print(String(
            format: "fuzz config: inputs=%d accepted=%d rejected=%d bad_reasons=%d crashes=0 seconds=%.1f inputs_per_s=%.0f",
            configInputs, configAccepted, configRejected, configViolations, configSeconds,
            Double(configInputs) / max(configSeconds, 0.001)))
        violations += configViolations
        exit(violations == 0 ? 0 : 1)
    }

    static func writeFiles(count: Int, spool: String, seed: UInt64) {
        var random = SplitMix64(seed: seed)
        for index in 0..<count {
            let (name, seedText) = Seeds.spool[Int(random.next() % UInt64(Seeds.spool.count))]
            let input = Mutator.mutate(Array(seedText.utf8), random: &random, splice: Seeds.spool.map { Array($0.1.utf8) })
            let file = "fuzz.\(index).\(name)"
            _ = FileManager.default.createFile(atPath: spool + "/tmp/" + file, contents: Data(input))
            rename(spool + "/tmp/" + file, spool + "/new/" + file)
        }
    }

    static func isOneLine(_ reason: String) -> Bool {
        !reason.isEmpty && !reason.contains("\n") && !reason.contains("\r")
    }
}
