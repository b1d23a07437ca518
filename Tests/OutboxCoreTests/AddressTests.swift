import OutboxCore
import Testing

@Suite("Addresses")
struct AddressTests {
    @Test("Address lists yield their addr-specs",
          arguments: [
            ("alice@example.org", ["alice@example.org"]),
            ("Alice <alice@example.org>, bob@example.org", ["alice@example.org", "bob@example.org"]),
            ("\"Doe, John\" <john@example.org>", ["john@example.org"]),
            ("alice@example.org (Alice, in a comment)", ["alice@example.org"]),
            ("undisclosed-recipients:;", []),
            ("team: a@example.org, b@example.org;, c@example.org", ["a@example.org", "b@example.org", "c@example.org"]),
            ("<@relay.example:x@example.org>", ["x@example.org"]),
            ("", []),
          ])
    func addressLists(value: String, expected: [String]) {
        #expect(AddressList.addrSpecs(in: value) == expected)
    }

    @Test("Valid SMTP addresses are accepted",
          arguments: ["a@b.org", "first.last+tag@sub.example.org", "\"odd local\"@example.org", "x@[127.0.0.1]"])
    func valid(address: String) throws {
        #expect(try EmailAddress(address).value == address)
    }

    @Test("Addresses that could inject SMTP commands or are malformed are refused",
          arguments: [
            ("a@b.org\r\nRCPT TO:<evil@x.org>", EmailAddress.Problem.controlCharacter),
            ("a@b.org\u{0}", .controlCharacter),
            ("no-at-sign", .noAtSign),
            ("@example.org", .noAtSign),
            ("a@", .noAtSign),
            ("", .empty),
            ("a b@example.org", .invalidCharacter(" ")),
            ("a<b@example.org", .invalidCharacter("<")),
            ("jürgen@example.org", .nonASCII),
          ])
    func invalid(address: String, problem: EmailAddress.Problem) {
        #expect(throws: problem) { try EmailAddress(address) }
    }

    @Test("Addresses longer than 254 characters, or with a local part over 64, are refused")
    func tooLong() {
        #expect(throws: EmailAddress.Problem.tooLong(255)) { try EmailAddress(String(repeating: "a", count: 64) + "@" + String(repeating: "b", count: 190)) }
        #expect(throws: EmailAddress.Problem.localPartTooLong) { try EmailAddress(String(repeating: "a", count: 65) + "@b.org") }
    }
}
