/// A message's 7-bit wire form as a plan (``SevenBitBody/wire(for:)``): the stored message plus
/// the pieces the wire form is made of, and its exact length. ``SMTPBodyStream`` produces the
/// bytes on demand, so the whole rewritten message is never in memory: the daemon holds the
/// stored message and one piece's worth of encoded output.
public struct SevenBitWire: Sendable {
    public enum Segment: Sendable, Equatable {
        /// Bytes of the stored message, sent as they are.
        case copy(Range<Int>)
        /// New bytes (a rewritten header block).
        case bytes([UInt8])
        /// A body of the stored message, re-encoded quoted-printable; `length` is its encoded size.
        case quotedPrintable(Range<Int>, length: Int)
        /// A body of the stored message, re-encoded base64 (``Base64Lines``).
        case base64(Range<Int>)
    }

    /// The stored message (after the header edits of the send, such as the Subject prefix).
    public let source: [UInt8]
    public private(set) var segments: [Segment] = []
    /// The exact number of bytes ``SMTPBodyStream`` produces: what MAIL FROM's SIZE= announces.
    public private(set) var length = 0

    /// Whether the wire form is the stored message unchanged.
    public var isUnchanged: Bool { segments == [.copy(0..<source.count)] || (source.isEmpty && segments.isEmpty) }

    /// The whole wire form in memory (tests and `SevenBitBody.apply`).
    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(length)
        let stream = SMTPBodyStream(self)
        withUnsafeTemporaryAllocation(byteCount: 65_536, alignment: 1) { buffer in
            while true {
                let count = stream.read(into: buffer)
                if count == 0 { break }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
        }
        return out
    }

    public func makeStream() -> SMTPBodyStream { SMTPBodyStream(self) }

    /// Collects segments in order, merging adjacent copies, and adds up the length.
    struct Builder {
        private(set) var wire: SevenBitWire

        init(source: [UInt8]) { wire = SevenBitWire(source: source) }

        mutating func append(copy range: Range<Int>) {
            guard !range.isEmpty else { return }
            wire.length += range.count
            if case .copy(let previous) = wire.segments.last, previous.upperBound == range.lowerBound {
                wire.segments[wire.segments.count - 1] = .copy(previous.lowerBound..<range.upperBound)
            } else {
                wire.segments.append(.copy(range))
            }
        }

        mutating func append(bytes: [UInt8]) {
            guard !bytes.isEmpty else { return }
            wire.length += bytes.count
            wire.segments.append(.bytes(bytes))
        }

        mutating func append(quotedPrintable range: Range<Int>, length: Int) {
            wire.length += length
            wire.segments.append(.quotedPrintable(range, length: length))
        }

        mutating func append(base64 range: Range<Int>) {
            wire.length += Base64Lines.encodedLength(of: range.count)
            wire.segments.append(.base64(range))
        }
    }
}

/// Reads a ``SevenBitWire`` as bytes, a buffer at a time (libcurl's CURLOPT_READFUNCTION): copies
/// straight from the stored message, and re-encodes a body one piece (about 48 KB of input) at a
/// time. Not thread-safe: one transfer reads it.
public final class SMTPBodyStream {
    private let wire: SevenBitWire
    private var segment = 0
    /// Within a `.copy` or `.bytes` segment: bytes already read; within an encoded one: input consumed.
    private var offset = 0
    private var quotedPrintable = QuotedPrintable.State()
    /// Encoded output not read yet.
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    /// Input bytes encoded per piece: a multiple of base64's line (57 bytes).
    static let pieceSize = 57 * 864

    public init(_ wire: SevenBitWire) {
        self.wire = wire
    }

    /// Fills `buffer` as far as the wire form goes; 0 at its end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var written = 0
        while written < buffer.count {
            if pendingOffset < pending.count {
                let n = min(buffer.count - written, pending.count - pendingOffset)
                pending.withUnsafeBytes { source in
                    (buffer.baseAddress! + written).copyMemory(from: source.baseAddress! + pendingOffset, byteCount: n)
                }
                pendingOffset += n
                written += n
                continue
            }
            guard segment < wire.segments.count else { break }
            switch wire.segments[segment] {
            case .copy(let range):
                let n = min(buffer.count - written, range.count - offset)
                wire.source.withUnsafeBytes { source in
                    (buffer.baseAddress! + written).copyMemory(
                        from: source.baseAddress! + range.lowerBound + offset, byteCount: n)
                }
                offset += n
                written += n
                if offset == range.count { nextSegment() }
            case .bytes(let bytes):
                let n = min(buffer.count - written, bytes.count - offset)
                bytes.withUnsafeBytes { source in
                    (buffer.baseAddress! + written).copyMemory(from: source.baseAddress! + offset, byteCount: n)
                }
                offset += n
                written += n
                if offset == bytes.count { nextSegment() }
            case .quotedPrintable(let range, _):
                refill { out in
                    let limit = quotedPrintable.index + Self.pieceSize
                    wire.source.withUnsafeBufferPointer { source in
                        let body = UnsafeBufferPointer(rebasing: source[range])
                        QuotedPrintable.encode(body, state: &quotedPrintable, until: limit, into: &out)
                    }
                    return quotedPrintable.index == range.count
                }
            case .base64(let range):
                refill { out in
                    let end = min(offset + Self.pieceSize, range.count)
                    wire.source.withUnsafeBufferPointer { source in
                        let start = range.lowerBound
                        let piece = UnsafeBufferPointer(rebasing: source[(start + offset)..<(start + end)])
                        Base64Lines.encode(piece, into: &out)
                    }
                    offset = end
                    return offset == range.count
                }
            }
        }
        return written
    }

    /// Encodes the next piece of the current segment into `pending`; `encode` says whether the
    /// segment is done.
    private func refill(_ encode: (inout [UInt8]) -> Bool) {
        pending.removeAll(keepingCapacity: true)
        pendingOffset = 0
        if pending.capacity == 0 { pending.reserveCapacity(Self.pieceSize * 3 + Self.pieceSize / 25 + 16) }
        if encode(&pending) { nextSegment() }
    }

    private func nextSegment() {
        segment += 1
        offset = 0
        quotedPrintable = QuotedPrintable.State()
    }
}
