/// Where an encoder writes: an array (the bytes) or a ``ByteCounter`` (only their number, to
/// announce an exact length or to reserve a buffer once). Generic, so the optimizer specializes
/// each encoder for both and a count costs no allocation.
protocol ByteSink {
    mutating func append(_ byte: UInt8)
    /// How many bytes were appended so far (an array: its count).
    var count: Int { get }
    /// The last byte appended and the one before it (0 when there were none).
    var lastTwo: (UInt8, UInt8) { get }
}

extension Array: ByteSink where Element == UInt8 {
    var lastTwo: (UInt8, UInt8) {
        (count >= 2 ? self[count - 2] : 0, count >= 1 ? self[count - 1] : 0)
    }
}

/// Counts what an encoder would write, without keeping it.
struct ByteCounter: ByteSink {
    private(set) var count = 0
    private(set) var lastTwo: (UInt8, UInt8) = (0, 0)

    mutating func append(_ byte: UInt8) {
        count += 1
        lastTwo = (lastTwo.1, byte)
    }
}

extension ByteSink {
    mutating func append(contentsOf bytes: some Sequence<UInt8>) {
        for byte in bytes { append(byte) }
    }
}
