// The issue 14 parser reproductions, compiled with OutboxCore's sources of any revision (OutboxCore
// is stdlib only), so the same inputs run against the code before and after: see bench/parse-repro.sh.
// Usage: parse-repro MODE SIZE — prints "MODE SIZE bytes=… seconds=… result=…".

#if canImport(Glibc)
import Glibc
#endif

func seconds(_ body: () -> String) -> (Double, String) {
    var start = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    let result = body()
    var end = timespec()
    clock_gettime(CLOCK_MONOTONIC, &end)
    return (Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9, result)
}

let context = IncomingMessage.Context(
    defaultSender: nil, hostname: "repro.example.org", now: UnixTime(seconds: 1_795_000_000), uniqueToken: "r")

func intake(_ name: String, _ bytes: [UInt8]) -> String {
    do {
        let message = try IncomingMessage(spoolFileNamed: name, content: bytes, context: context)
        let sent = SevenBitBody.apply(to: message.content)
        return "accepted, sent \(sent.bytes.count) bytes"
    } catch {
        return "refused: \(error)"
    }
}

let arguments = CommandLine.arguments
let mode = arguments.count > 1 ? arguments[1] : "deep-mime"
let size = arguments.count > 2 ? Int(arguments[2]) ?? 1_000 : 1_000
var input: [UInt8] = []
var name = "x.eml"
switch mode {
case "deep-mime", "deep-mime-send":  // finding 1: SIZE nested multiparts, one 8-bit byte inside
    var text = "From: a@example.org\nTo: b@example.org\nSubject: deep\nMIME-Version: 1.0\n"
    for level in 0..<size { text += "Content-Type: multipart/mixed; boundary=\"b\(level)\"\n\n--b\(level)\n" }
    text += "Content-Type: text/plain; charset=utf-8\n\nGr\u{FC}\u{DF}e\n"
    for level in (0..<size).reversed() { text += "--b\(level)--\n" }
    input = Array(text.utf8)
case "json-keys":  // finding 2: SIZE keys in one object
    name = "x.json"
    input = Array(("{\"tos\": \"b@example.org\", \"headers\": {" + (0..<size).map { "\"X-K\($0)\": \"v\"" }.joined(separator: ",") + "}}").utf8)
case "eml-fields":  // finding 2: SIZE header fields
    input = Array(("From: a@example.org\nTo: b@example.org\n" + String(repeating: "X-A: b\n", count: size) + "\nx\n").utf8)
case "short-lines":  // SIZE short 8-bit lines
    input = Array(("From: a@example.org\nTo: b@example.org\n\n" + String(repeating: "\u{E9}\n", count: size)).utf8)
case "json-escapes":  // SIZE \u escapes in one JSON string (the structured fuzz's worst memory)
    name = "x.json"
    let field = arguments.count > 3 ? arguments[3] : "subject"
    input = Array(("{\"from\":\"a@example.org\",\"tos\":\"b@example.org\",\"\(field)\":\"" + String(repeating: "\\u00e9", count: size) + "\"}").utf8)
case "json-raw":  // SIZE raw 8-bit characters (é) in one JSON string
    name = "x.json"
    let field = arguments.count > 3 ? arguments[3] : "text"
    input = Array(("{\"from\":\"a@example.org\",\"tos\":\"b@example.org\",\"\(field)\":\"" + String(repeating: "\u{E9}", count: size) + "\"}").utf8)
case "many-parts":  // SIZE small parts in one multipart
    var text = "From: a@example.org\nTo: b@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"p\"\n\n"
    for index in 0..<size { text += "--p\nContent-Type: text/plain\n\n\(index % 2 == 0 ? "caf\u{E9}" : "ascii")\n" }
    input = Array((text + "--p--\n").utf8)
default:
    print("unknown mode \(mode)")
    exit(64)
}
let (elapsed, result): (Double, String)
if mode == "deep-mime-send" {
    // What the daemon does at send time with a message already in the queue (no intake limits).
    let message = try! RawMessage(normalizing: input)
    (elapsed, result) = seconds { "sent \(SevenBitBody.apply(to: message).bytes.count) bytes" }
} else {
    (elapsed, result) = seconds { intake(name, input) }
}
print("\(mode) \(size) bytes=\(input.count) seconds=\((elapsed * 1000).rounded() / 1000) result=\(result.prefix(120))")
