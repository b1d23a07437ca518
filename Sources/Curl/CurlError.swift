public import CCurl

/// A libcurl failure: the `CURLcode` and libcurl's words for it.
///
/// Descriptions carry no addresses or passwords; the SMTP replies are kept apart in
/// ``SMTPTranscript``.
public struct CurlError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var message: String

    public init(code: CURLcode, detail: String?) {
        self.code = Int(code.rawValue)
        let text = detail.flatMap { $0.isEmpty ? nil : $0 } ?? String(cString: curl_easy_strerror(code))
        self.message = text
    }

    /// `curl error 67: Login denied`
    public var description: String { "curl error \(code): \(message)" }
}
