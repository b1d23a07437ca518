import CCurl
import Synchronization

/// libcurl's global state, initialised once before the first handle (libcurl requires it to
/// happen before any other thread uses curl).
private let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

/// One `CURL*` easy handle: created in `init`, freed in `deinit`, owning the memory libcurl
/// points into (recipient list, error buffer, the body being read) so it lives exactly as long.
///
/// Not `Sendable`: a handle is used by one thread at a time (libcurl's rule); the SMTP lane owns
/// it. Reusing it for consecutive transfers to the same URL reuses the connection.
public final class EasyHandle {
    let raw: UnsafeMutableRawPointer
    /// CURLOPT_ERRORBUFFER: libcurl writes up to CURL_ERROR_SIZE bytes here during a transfer.
    let errorBuffer: UnsafeMutablePointer<CChar>
    /// CURLOPT_MAIL_RCPT is not copied by libcurl; it must outlive the transfer.
    var recipientList: UnsafeMutablePointer<curl_slist>?
    /// Shared with the C callbacks through an unmanaged pointer; owned here.
    let state = TransferState()

    public init() throws(CurlError) {
        guard globalInit == CURLE_OK else { throw CurlError(code: globalInit, detail: "curl_global_init failed") }
        guard let handle = curl_easy_init() else { throw CurlError(code: CURLE_FAILED_INIT, detail: "curl_easy_init failed") }
        raw = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        do {
            try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
            // libcurl's rule for threaded programs: no signals (it would use SIGALRM for DNS timeouts).
            try set(CURLOPT_NOSIGNAL, 1)
            try installCallbacks()
        } catch {
            curl_easy_cleanup(raw)
            errorBuffer.deallocate()
            throw error
        }
    }

    deinit {
        // "curl_easy_cleanup ... closes all connections this handle has used" (sends QUIT for SMTP,
        // bounded by CURLOPT_SERVER_RESPONSE_TIMEOUT).
        curl_easy_cleanup(raw)
        if let recipientList { curl_slist_free_all(recipientList) }
        errorBuffer.deallocate()
    }

    // MARK: Typed setopt (the variadic C function goes through the shim)

    func set(_ option: CURLoption, _ value: Int) throws(CurlError) {
        try check(outbox_curl_set_long(raw, option, value))
    }

    func set(_ option: CURLoption, _ value: String) throws(CurlError) {
        try check(value.withCString { outbox_curl_set_string(raw, option, $0) })
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws(CurlError) {
        try check(outbox_curl_set_pointer(raw, option, pointer))
    }

    func set(_ option: CURLoption, slist: UnsafeMutablePointer<curl_slist>?) throws(CurlError) {
        try check(outbox_curl_set_slist(raw, option, slist))
    }

    func check(_ code: CURLcode) throws(CurlError) {
        guard code == CURLE_OK else { throw CurlError(code: code, detail: nil) }
    }

    /// Runs the configured transfer; blocks the calling thread until it ends.
    func perform() -> CURLcode {
        errorBuffer[0] = 0
        return curl_easy_perform(raw)
    }

    var errorText: String { String(cString: errorBuffer) }
}

/// What the C callbacks read and write during one transfer.
final class TransferState {
    /// The message being sent, its announced length and how much of it was read.
    var body: (any SMTPBodyReader)?
    var bodyLength = 0
    var bodyOffset = 0
    var transcript = SMTPTranscript()
    /// An HTTPS response's body (token requests), filled by CURLOPT_WRITEFUNCTION.
    var responseBody: [UInt8] = []
    /// Checked by CURLOPT_XFERINFOFUNCTION: when set, the transfer is aborted.
    var stopFlag: StopFlag?
    /// Counted by CURLOPT_XFERINFOFUNCTION: proof that the transfer is alive.
    var progress: TransferProgress?
}

/// Counts libcurl's progress callbacks for a transfer running on another thread. libcurl calls
/// CURLOPT_XFERINFOFUNCTION often while data moves and about once a second while it waits, for
/// as long as `curl_easy_perform` runs — which its timeouts bound: a count that moves means the
/// transfer is alive and within those bounds (the watchdog trusts a sending lane by it).
public final class TransferProgress: Sendable {
    private let value = Atomic<UInt64>(0)
    public init() {}
    public func beat() { value.add(1, ordering: .relaxed) }
    public var count: UInt64 { value.load(ordering: .relaxed) }
}

/// A thread-safe "please stop" for a transfer running on another thread.
public final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public func set() { value.store(true, ordering: .relaxed) }
    public func reset() { value.store(false, ordering: .relaxed) }
    public var isSet: Bool { value.load(ordering: .relaxed) }
}
