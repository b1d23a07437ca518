import CCurl

/// Everything libcurl needs for one SMTP transaction.
public struct SMTPTransferRequest: Sendable {
    /// `smtp://host:port/ehlo-name` or `smtps://…`: libcurl sends the URL path as the EHLO domain.
    public var url: String
    /// Require STARTTLS before anything else (CURLUSESSL_ALL): fail rather than continue in clear.
    public var requireStartTLS: Bool
    /// Skip certificate and host name verification (XNAT's ssl_trust).
    public var skipCertificateVerification: Bool
    /// Credentials for AUTH, or nil for no AUTH at all.
    public var credentials: (username: String, password: String, mechanisms: [String])?
    public var mailFrom: String
    public var recipients: [String]
    /// The message, CRLF line ends, not dot-stuffed (libcurl does it): bytes in memory, or a
    /// source that produces them as they are sent.
    public var body: any SMTPBodySource
    public var connectTimeoutMilliseconds: Int
    public var responseTimeoutSeconds: Int
    /// A PEM file of extra trusted certificates (CURLOPT_CAINFO), or nil for the system store.
    public var caFile: String? = nil
    /// An OAuth2 access token: with `credentials`, the login is SASL XOAUTH2 (CURLOPT_XOAUTH2_BEARER)
    /// and nothing else, whatever `credentials.mechanisms` says.
    public var bearerToken: String? = nil
    /// The longest a connection is reused, from when it was opened (CURLOPT_MAXLIFETIME_CONN).
    public var maximumConnectionAgeSeconds: Int = 600

    public init(url: String, requireStartTLS: Bool, skipCertificateVerification: Bool,
                credentials: (username: String, password: String, mechanisms: [String])?,
                mailFrom: String, recipients: [String], body: any SMTPBodySource,
                connectTimeoutMilliseconds: Int, responseTimeoutSeconds: Int) {
        self.url = url
        self.requireStartTLS = requireStartTLS
        self.skipCertificateVerification = skipCertificateVerification
        self.credentials = credentials
        self.mailFrom = mailFrom
        self.recipients = recipients
        self.body = body
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.responseTimeoutSeconds = responseTimeoutSeconds
    }
}

/// How a transaction ended: libcurl's result and the server's replies.
public struct SMTPTransferResult: Sendable {
    /// nil when libcurl returned CURLE_OK.
    public var error: CurlError?
    public var transcript: SMTPTranscript
    /// The names the server's certificate is for (subject CN and subjectAltName entries), when
    /// TLS got as far as receiving it; used to explain a host name mismatch.
    public var certificateNames: [String] = []

    public init(error: CurlError?, transcript: SMTPTranscript, certificateNames: [String] = []) {
        self.error = error
        self.transcript = transcript
        self.certificateNames = certificateNames
    }
}

extension EasyHandle {
    /// Sends one message. Blocks the calling thread; call it from a dedicated thread.
    ///
    /// Options are set on every call, so a handle reused for the same URL and credentials keeps
    /// its connection (no new login), and anything that differs makes libcurl connect anew.
    /// - Parameter stop: set it from any thread to abort the transfer at libcurl's next progress
    ///   check (curl_easy_perform then returns CURLE_ABORTED_BY_CALLBACK).
    public func sendMail(_ request: SMTPTransferRequest, stop: StopFlag? = nil, progress: TransferProgress? = nil) -> SMTPTransferResult {
        state.body = request.body.makeReader()
        state.bodyLength = request.body.count
        state.bodyOffset = 0
        state.transcript = SMTPTranscript()
        state.stopFlag = stop
        state.progress = progress
        defer {
            state.body = nil
            state.stopFlag = nil
            state.progress = nil
        }
        do {
            try configure(for: request)
        } catch {
            return SMTPTransferResult(error: error, transcript: state.transcript)
        }
        let code = perform()
        let error: CurlError? = code == CURLE_OK ? nil : CurlError(code: code, detail: errorText)
        return SMTPTransferResult(
            error: error, transcript: state.transcript, certificateNames: error == nil ? [] : serverCertificateNames())
    }

    /// The subject CN and subjectAltName of the server's (first) certificate, from CURLINFO_CERTINFO.
    /// libcurl's OpenSSL backend collects the chain before it checks the host name, so a name
    /// mismatch still leaves it here.
    private func serverCertificateNames() -> [String] {
        var info: UnsafeMutablePointer<curl_certinfo>?
        guard outbox_curl_get_certinfo(raw, &info) == CURLE_OK, let info, info.pointee.num_of_certs > 0,
            var item = info.pointee.certinfo?[0]
        else { return [] }
        var names: [String] = []
        while true {
            if let data = item.pointee.data {
                let line = String(cString: data)
                if line.hasPrefix("Subject:") {
                    // "Subject:C = XX, CN = mail.example.org" (OpenSSL's one-line form)
                    for part in line.dropFirst("Subject:".count).split(separator: ",") {
                        let field = part.trimmingWhitespaceCharacters()
                        if field.hasPrefix("CN") {
                            names.append("CN=" + field.drop { $0 != "=" }.dropFirst().trimmingWhitespaceCharacters())
                        }
                    }
                } else if line.hasPrefix("X509v3 Subject Alternative Name:") {
                    let list = line.dropFirst("X509v3 Subject Alternative Name:".count)
                    names += list.split(separator: ",").map { $0.trimmingWhitespaceCharacters() }
                }
            }
            guard let next = item.pointee.next else { break }
            item = next
        }
        return names
    }

    /// The part of a session that sending and probing share: where to connect, the TLS policy and
    /// trust, the login, and the timeouts.
    func configureSession(for request: SMTPTransferRequest) throws(CurlError) {
        try set(CURLOPT_PROTOCOLS_STR, "smtp,smtps")
        try set(CURLOPT_URL, request.url)
        try set(CURLOPT_USE_SSL, Int(request.requireStartTLS ? CURLUSESSL_ALL.rawValue : CURLUSESSL_NONE.rawValue))
        try set(CURLOPT_SSL_VERIFYPEER, request.skipCertificateVerification ? 0 : 1)
        try set(CURLOPT_SSL_VERIFYHOST, request.skipCertificateVerification ? 0 : 2)
        try set(CURLOPT_CERTINFO, 1)
        if let caFile = request.caFile {
            try set(CURLOPT_CAINFO, caFile)
        }
        if let credentials = request.credentials, let bearer = request.bearerToken {
            // "user=USER\x01auth=Bearer TOKEN\x01\x01" (XOAUTH2). With a bearer set libcurl 7.88
            // prefers OAUTHBEARER and would try DIGEST-MD5, CRAM-MD5 or NTLM before it when
            // offered; Exchange Online takes XOAUTH2 only: pin it.
            try set(CURLOPT_USERNAME, credentials.username)
            try set(CURLOPT_PASSWORD, pointer: nil)
            try set(CURLOPT_XOAUTH2_BEARER, bearer)
            try set(CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2")
        } else if let credentials = request.credentials {
            try set(CURLOPT_USERNAME, credentials.username)
            try set(CURLOPT_PASSWORD, credentials.password)
            try set(CURLOPT_XOAUTH2_BEARER, pointer: nil)
            // Pin the SASL mechanisms; left alone, libcurl may pick GSSAPI or NTLM by itself.
            try set(CURLOPT_LOGIN_OPTIONS, credentials.mechanisms.map { "AUTH=\($0)" }.joined(separator: ";"))
        } else {
            try set(CURLOPT_USERNAME, pointer: nil)
            try set(CURLOPT_PASSWORD, pointer: nil)
            try set(CURLOPT_XOAUTH2_BEARER, pointer: nil)
            try set(CURLOPT_LOGIN_OPTIONS, pointer: nil)
        }
        try set(CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMilliseconds)
        try set(CURLOPT_SERVER_RESPONSE_TIMEOUT, request.responseTimeoutSeconds)
    }

    private func configure(for request: SMTPTransferRequest) throws(CurlError) {
        try configureSession(for: request)
        try set(CURLOPT_UPLOAD, 1)
        try set(CURLOPT_INFILESIZE_LARGE, request.body.count)
        try set(CURLOPT_MAIL_FROM, "<\(request.mailFrom)>")
        if let recipientList { curl_slist_free_all(recipientList) }
        recipientList = nil
        for recipient in request.recipients {
            recipientList = recipient.withCString { curl_slist_append(recipientList, $0) }
        }
        try set(CURLOPT_MAIL_RCPT, slist: recipientList)
        try set(outbox_curlopt_mail_rcpt_allowfails, 1)
        // A stalled transfer: under 1 byte/s for the response timeout.
        try set(CURLOPT_LOW_SPEED_LIMIT, 1)
        try set(CURLOPT_LOW_SPEED_TIME, request.responseTimeoutSeconds)
        try set(CURLOPT_MAXAGE_CONN, 300)
        try set(CURLOPT_MAXLIFETIME_CONN, request.maximumConnectionAgeSeconds)
    }

    func installCallbacks() throws(CurlError) {
        let context = Unmanaged.passUnretained(state).toOpaque()
        try set(CURLOPT_READDATA, pointer: context)
        try check(outbox_curl_set_data_callback(raw, CURLOPT_READFUNCTION, { buffer, size, count, userdata in
            let state = Unmanaged<TransferState>.fromOpaque(userdata!).takeUnretainedValue()
            // "Your function must then return the actual number of bytes that it stored in that
            // memory area. Returning 0 signals end-of-file" (CURLOPT_READFUNCTION). Never more than
            // the length announced (CURLOPT_INFILESIZE_LARGE, SIZE=); a source that ends short
            // aborts the transfer rather than send a truncated message.
            let room = min(size * count, state.bodyLength - state.bodyOffset)
            var n = 0
            if room > 0, let buffer, let reader = state.body {
                n = reader.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: room))
                if n == 0 { return Int(CURL_READFUNC_ABORT) }
                state.bodyOffset += n
            }
            if state.bodyOffset == state.bodyLength { state.transcript.bodySent = true }
            return n
        }))
        try set(CURLOPT_DEBUGDATA, pointer: context)
        try set(CURLOPT_VERBOSE, 1)  // required for CURLOPT_DEBUGFUNCTION to be called
        try check(outbox_curl_set_debug_callback(raw, { _, type, data, size, userdata in
            guard let data, let userdata else { return 0 }
            let state = Unmanaged<TransferState>.fromOpaque(userdata).takeUnretainedValue()
            switch type {
            case CURLINFO_HEADER_IN:
                let bytes = UnsafeRawBufferPointer(start: data, count: size)
                for line in bytes.split(separator: UInt8(ascii: "\n")) {
                    state.transcript.replyLineReceived(line)
                }
            case CURLINFO_HEADER_OUT:
                // Only the verb is looked at; the rest (AUTH credentials) is never copied.
                state.transcript.commandSent(UnsafeRawBufferPointer(start: data, count: min(size, 8)))
            default:
                break
            }
            return 0
        }))
        try set(CURLOPT_NOPROGRESS, 0)
        try set(CURLOPT_XFERINFODATA, pointer: context)
        try check(outbox_curl_set_xferinfo_callback(raw, { userdata, _, _, _, _ in
            let state = Unmanaged<TransferState>.fromOpaque(userdata!).takeUnretainedValue()
            state.progress?.beat()
            return state.stopFlag?.isSet == true ? 1 : 0
        }))
    }
}

extension Substring {
    fileprivate func trimmingWhitespaceCharacters() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
