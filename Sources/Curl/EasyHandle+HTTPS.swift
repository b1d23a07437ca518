import CCurl

/// A form POST over HTTPS: how an OAuth2 token endpoint is asked for a token (RFC 6749 §4.4, §6).
public struct HTTPSFormRequest: Sendable {
    /// `https://…` only: CURLOPT_PROTOCOLS_STR refuses anything else, redirects included.
    public var url: String
    /// `application/x-www-form-urlencoded` body; holds secrets, so never logged or kept.
    public var form: String
    /// Extra trusted certificates (CURLOPT_CAINFO); verification is always on.
    public var caFile: String?
    public var connectTimeoutMilliseconds: Int
    /// The whole exchange (CURLOPT_TIMEOUT_MS).
    public var timeoutMilliseconds: Int

    public init(url: String, form: String, caFile: String?, connectTimeoutMilliseconds: Int, timeoutMilliseconds: Int) {
        self.url = url
        self.form = form
        self.caFile = caFile
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// The HTTP status and body, or libcurl's error (DNS, TLS, timeout) when there was no response.
public struct HTTPSResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var error: CurlError?
}

extension EasyHandle {
    /// POSTs the form and returns the response. Blocks the calling thread: call it from a
    /// dedicated thread. Certificates and host names are always verified.
    public func post(_ request: HTTPSFormRequest) -> HTTPSResponse {
        state.responseBody = []
        state.transcript = SMTPTranscript()
        defer { state.responseBody = [] }
        do {
            try set(CURLOPT_PROTOCOLS_STR, "https")
            try set(CURLOPT_REDIR_PROTOCOLS_STR, "https")
            try set(CURLOPT_URL, request.url)
            try set(CURLOPT_SSL_VERIFYPEER, 1)
            try set(CURLOPT_SSL_VERIFYHOST, 2)
            // CURLOPT_CAINFO replaces the CA bundle file, but Debian's libcurl keeps its CA path
            // (--with-ca-path=/etc/ssl/certs), so the system's CAs stay trusted beside smtp.ca_file.
            if let caFile = request.caFile { try set(CURLOPT_CAINFO, caFile) }
            // "CURLOPT_COPYPOSTFIELDS … copies the data": the form need not outlive this call.
            try set(CURLOPT_POSTFIELDSIZE, request.form.utf8.count)
            try set(CURLOPT_COPYPOSTFIELDS, request.form)
            try set(CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMilliseconds)
            try set(CURLOPT_TIMEOUT_MS, request.timeoutMilliseconds)
            try set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(state).toOpaque())
            try check(outbox_curl_set_data_callback(raw, CURLOPT_WRITEFUNCTION, { buffer, size, count, userdata in
                let state = Unmanaged<TransferState>.fromOpaque(userdata!).takeUnretainedValue()
                let n = size * count
                // A token response is a few KB; refuse a runaway body (1 MB) rather than grow without bound.
                guard let buffer, state.responseBody.count + n <= 1 << 20 else { return 0 }
                state.responseBody.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: n))
                return n
            }))
        } catch {
            return HTTPSResponse(status: 0, body: [], error: error)
        }
        let code = perform()
        var status = 0
        _ = outbox_curl_get_long(raw, CURLINFO_RESPONSE_CODE, &status)
        let error: CurlError? = code == CURLE_OK ? nil : CurlError(code: code, detail: errorText)
        return HTTPSResponse(status: status, body: state.responseBody, error: error)
    }
}
