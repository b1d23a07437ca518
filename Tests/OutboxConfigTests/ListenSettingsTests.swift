import Foundation
import OutboxConfig
import OutboxCore
import Testing

@Suite("listen: settings")
struct ListenSettingsTests {
    func load(_ yaml: String, environment: [String: String] = [:]) async throws(ConfigurationError) -> OutboxConfiguration {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-listen-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("outbox.yaml").path
        FileManager.default.createFile(atPath: file, contents: Data(yaml.utf8))
        return try await OutboxConfiguration.load(file: file, environment: environment, credentialsDirectory: "/nonexistent")
    }

    @Test("Without listen keys nothing listens; one key gives the loopback defaults")
    func absentAndDefaults() async throws {
        #expect(try await load("smtp:\n  host: relay.example.org\n").listen == nil)
        let listen = try #require(try await load("listen:\n  max_recipients: 50\nspool:\n  max_message_size: 1000\n").listen)
        #expect(listen.addresses.map(\.description) == ["127.0.0.1:25", "[::1]:25"])
        #expect(listen.maxRecipients == 50)
        #expect(listen.maxMessageSize == 1000, "max_message_size defaults to spool.max_message_size")
        #expect(listen.maxConnections == 100)
        #expect(listen.idleTimeout == .seconds(300))
    }

    @Test("addresses and allow_networks take a YAML list or a space-separated string (and the environment)")
    func lists() async throws {
        let yaml = try #require(try await load("""
            listen:
              addresses: ["127.0.0.1:2525", "[::1]:2525", "172.17.0.1:25"]
              allow_networks: [172.17.0.0/16, "fd00::/8"]
              idle_timeout: 30s
            """).listen)
        #expect(yaml.addresses.map(\.description) == ["127.0.0.1:2525", "[::1]:2525", "172.17.0.1:25"])
        #expect(yaml.allows(client: [172, 17, 3, 4]))
        #expect(!yaml.allows(client: [10, 0, 0, 1]))
        #expect(yaml.allows(client: [127, 0, 0, 9]), "loopback is always allowed")
        #expect(yaml.idleTimeout == .seconds(30))
        let text = try #require(try await load("listen:\n  addresses: 127.0.0.1:2525 [::1]:2526\n").listen)
        #expect(text.addresses.map(\.port) == [2525, 2526])
        let environment = try #require(try await load("", environment: ["OUTBOX_LISTEN_ADDRESSES": "127.0.0.1:2600"]).listen)
        #expect(environment.addresses.map(\.description) == ["127.0.0.1:2600"])
    }

    @Test("Bad values are refused with one line naming the key",
          arguments: [("listen:\n  addresses: localhost:25\n", "listen.addresses: must be host:port with an IP address"),
                      ("listen:\n  addresses: 127.0.0.1:70000\n", "listen.addresses: must be host:port"),
                      ("listen:\n  addresses: 0.0.0.0:25\n", "listen.addresses: 0.0.0.0:25 is not a loopback address; set listen.allow_networks"),
                      ("listen:\n  allow_networks: 10.0.0.0/33\n", "listen.allow_networks: must be networks"),
                      ("listen:\n  max_recipients: 0\n", "listen.max_recipients: must be from 1 to 100000, got 0"),
                      ("listen:\n  idle_timeout: 0s\n", "listen.idle_timeout: must be at least 1s"),
                      ("listen:\n  adresses: 127.0.0.1:25\n", "unknown key (did you mean listen.addresses?)")])
    func refused(yaml: String, expected: String) async {
        do {
            _ = try await load(yaml)
            Issue.record("accepted \(yaml)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("A non-loopback address is accepted with allow_networks")
    func nonLoopbackWithNetworks() async throws {
        let listen = try #require(try await load("listen:\n  addresses: 0.0.0.0:2525\n  allow_networks: 172.17.0.0/16\n").listen)
        #expect(listen.addresses.first?.isLoopback == false)
    }

    @Test("IP networks: prefixes, IPv6 with ::, IPv4-mapped addresses")
    func networks() throws {
        let v6 = try #require(IPNetwork("fd00::/8"))
        #expect(v6.contains("fd12:3456::1"))
        #expect(!v6.contains("fe80::1"))
        #expect(try #require(IPNetwork("127.0.0.0/8")).contains("::ffff:127.0.0.1"))
        #expect(IPNetwork("1.2.3") == nil)
        #expect(IPNetwork("1::2::3") == nil)
        #expect(IPNetwork.parseAddress("::1") == Array(repeating: 0, count: 15) + [1])
    }
}
