import Foundation
import Testing

/// A message as Python's email package reads it (scripts/mime-summary.py): a real MIME parser
/// checks what we build, rather than our own code.
struct MIMESummary {
    var headers: [String: [String]]
    var defects: [String]
    var sevenBit: Bool
    var bareLF: Bool
    var maxLine: Int
    var structure: String
    var parts: [[String: Any]]

    init(message bytes: [UInt8]) throws {
        let scratch = Scratch()
        let path = scratch.file("message.eml")
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let result = try run(
            "/usr/bin/python3", [Paths.packageRoot.appendingPathComponent("scripts/mime-summary.py").path, path])
        guard result.status == 0 else { throw TestFailure("mime-summary.py failed: \(result.stderr)") }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        headers = object["headers"] as? [String: [String]] ?? [:]
        defects = object["defects"] as? [String] ?? ["unreadable summary"]
        sevenBit = object["seven_bit"] as? Bool ?? false
        bareLF = object["bare_lf"] as? Bool ?? true
        maxLine = object["max_line"] as? Int ?? .max
        structure = object["structure"] as? String ?? ""
        parts = object["parts"] as? [[String: Any]] ?? []
    }

    init(received data: String) throws {
        try self.init(message: data.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })  // latin-1 as recorded
    }

    func header(_ name: String) -> String? { headers[name]?.first }
    func text(of contentType: String) -> String? {
        parts.first { $0["content_type"] as? String == contentType }?["text"] as? String
    }
    func attachment(named filename: String) -> [String: Any]? { parts.first { $0["filename"] as? String == filename } }

    /// What every message we build must satisfy on the wire.
    func expectWellFormed(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(defects.isEmpty, "defects: \(defects)", sourceLocation: sourceLocation)
        #expect(sevenBit, "not 7-bit clean", sourceLocation: sourceLocation)
        #expect(!bareLF, "bare LF", sourceLocation: sourceLocation)
        #expect(maxLine <= 998, "a line of \(maxLine) characters", sourceLocation: sourceLocation)
    }
}
