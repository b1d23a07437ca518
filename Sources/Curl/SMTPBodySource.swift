/// What a transaction sends after DATA: its exact length (announced as SIZE= and as
/// CURLOPT_INFILESIZE_LARGE) and a reader that produces exactly that many bytes, a buffer at a
/// time, from libcurl's read callback. A message rewritten for the wire can so be produced as it
/// is sent instead of held whole in memory.
public protocol SMTPBodySource: Sendable {
    var count: Int { get }
    /// A fresh reader from the first byte; one per attempt (a retried transfer reads anew).
    func makeReader() -> any SMTPBodyReader
}

extension SMTPBodySource {
    public var isEmpty: Bool { count == 0 }
}

/// Produces a body's bytes in order; called on the transfer's thread only.
public protocol SMTPBodyReader: AnyObject {
    /// Fills `buffer` as far as the body goes and returns how many bytes it wrote; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int
}

/// A body already in memory.
extension Array: SMTPBodySource where Element == UInt8 {
    public func makeReader() -> any SMTPBodyReader { BytesReader(self) }
}

private final class BytesReader: SMTPBodyReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}
