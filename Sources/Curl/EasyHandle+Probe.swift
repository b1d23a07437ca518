import CCurl

extension EasyHandle {
    /// Runs an SMTP session up to the point of sending mail, then stops: connect, greeting, EHLO,
    /// STARTTLS and AUTH exactly as ``sendMail(_:stop:)`` would do them for `request`, then `NOOP`
    /// and `QUIT`. No MAIL FROM, no recipient, no message. Blocks the calling thread.
    ///
    /// libcurl's SMTP client sends "a non-recipient based command such as HELP" (or
    /// CURLOPT_CUSTOMREQUEST) when neither CURLOPT_MAIL_RCPT nor CURLOPT_UPLOAD is set; its reply
    /// arrives as body data, which the write callback set here discards. `mailFrom`,
    /// `recipients` and `body` of `request` are ignored.
    public func probe(_ request: SMTPTransferRequest) -> SMTPTransferResult {
        state.body = nil
        state.bodyLength = 0
        state.bodyOffset = 0
        state.transcript = SMTPTranscript()
        do {
            try configureSession(for: request)
            try set(CURLOPT_UPLOAD, 0)
            try set(CURLOPT_FRESH_CONNECT, 1)
            try set(CURLOPT_FORBID_REUSE, 1)
            try set(CURLOPT_MAIL_FROM, pointer: nil)
            try set(CURLOPT_MAIL_RCPT, slist: nil)
            try set(CURLOPT_CUSTOMREQUEST, "NOOP")
            try check(outbox_curl_set_data_callback(raw, CURLOPT_WRITEFUNCTION, { _, size, count, _ in size * count }))
        } catch {
            return SMTPTransferResult(error: error, transcript: state.transcript)
        }
        let code = perform()
        let error: CurlError? = code == CURLE_OK ? nil : CurlError(code: code, detail: errorText)
        return SMTPTransferResult(error: error, transcript: state.transcript)
    }
}
