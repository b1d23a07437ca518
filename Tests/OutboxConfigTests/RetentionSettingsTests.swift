import Foundation
import OutboxConfig
import OutboxCore
import Testing

@Suite("Retention and recipient-batch settings")
struct RetentionSettingsTests {
    func load(_ yaml: String) async throws(ConfigurationError) -> OutboxConfiguration {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-retention-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("outbox.yaml").path
        FileManager.default.createFile(atPath: file, contents: Data(yaml.utf8))
        return try await OutboxConfiguration.load(file: file, environment: [:], credentialsDirectory: "/nonexistent")
    }

    @Test("Defaults: sent kept 7 days without body, failed 30 days, 100 recipients a transaction")
    func defaults() async throws {
        let configuration = try await load("")
        #expect(configuration.queue.keepSent == .seconds(7 * 86_400))
        #expect(configuration.queue.keepFailed == .seconds(30 * 86_400))
        #expect(configuration.queue.keepSentContent == false)
        #expect(configuration.delivery.maxRecipientsPerTransaction == 100)
    }

    @Test("The keys are read")
    func read() async throws {
        let configuration = try await load("""
            queue:
              keep_sent: 1d
              keep_failed: 90d
              keep_sent_content: true
            delivery:
              max_recipients_per_transaction: 50
            """)
        #expect(configuration.queue.keepSent == .seconds(86_400))
        #expect(configuration.queue.keepFailed == .seconds(90 * 86_400))
        #expect(configuration.queue.keepSentContent)
        #expect(configuration.delivery.maxRecipientsPerTransaction == 50)
    }

    @Test("Wrong values name the key", arguments: [
        ("queue:\n  keep_sent: soon\n", "queue.keep_sent: must be a duration"),
        ("queue:\n  keep_sent_content: maybe\n", "queue.keep_sent_content: must be true or false"),
        ("delivery:\n  max_recipients_per_transaction: 20000\n", "delivery.max_recipients_per_transaction: must be from 1 to 10000"),
        ("queue:\n  keep_sents: 1d\n", "queue.keep_sents: unknown key (did you mean queue.keep_sent?)"),
    ])
    func wrong(yaml: String, expected: String) async {
        do {
            _ = try await load(yaml)
            Issue.record("accepted \(yaml)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }
}
