/// Bytes read from a stream and not yet consumed.
///
/// Empty streams hold no storage (an idle connection costs nothing here).
/// A read goes straight into the tail; the consumer reads the unread part in
/// place; consumed bytes are dropped by moving the start, and the rest is
/// moved to the front only when the tail runs short.
struct InputBuffer {
    private var storage: [UInt8] = []
    private var start = 0
    private var end = 0

    /// Storage kept once everything is consumed; anything larger is released.
    private static let retainedCapacity = 64 << 10

    /// How many bytes wait to be consumed.
    var count: Int { end - start }
    var isEmpty: Bool { end == start }

    /// Lets `body` fill free space at the tail (at least `minimum` bytes of it)
    /// and records how many bytes it says it wrote.
    mutating func fill(minimum: Int, _ body: (UnsafeMutableRawPointer, Int) -> Int) -> Int {
        reserve(minimum)
        let count = storage.withUnsafeMutableBytes { bytes -> Int in
            guard let base = bytes.baseAddress else { return 0 }
            return body(base + end, bytes.count - end)
        }
        end += max(0, count)
        return count
    }

    /// Appends `bytes`.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        _ = fill(minimum: bytes.count) { target, _ in
            target.copyMemory(from: source, byteCount: bytes.count)
            return bytes.count
        }
    }

    /// Calls `body` with the unread bytes.
    func withUnreadBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
    }

    /// Marks `count` unread bytes as consumed.
    mutating func consume(_ count: Int) {
        start += min(count, end - start)
        if start == end { reset() }
    }

    /// Drops every unread byte (the stream they came from is gone, or they were consumed).
    mutating func reset() {
        start = 0
        end = 0
        // One huge message must not pin its buffer for the stream's life.
        if storage.count > Self.retainedCapacity { storage = [] }
    }

    private mutating func reserve(_ minimum: Int) {
        guard storage.count - end < minimum else { return }
        if start > 0 {
            storage.withUnsafeMutableBytes { bytes in
                guard let base = bytes.baseAddress else { return }
                base.copyMemory(from: base + start, byteCount: end - start)
            }
            end -= start
            start = 0
        }
        if storage.count - end < minimum {
            storage += [UInt8](repeating: 0, count: max(minimum - (storage.count - end), storage.count))
        }
    }
}
