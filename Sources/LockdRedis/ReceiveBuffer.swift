/// Bytes read from a socket and not yet decoded.
///
/// The socket reads straight into the tail (one large read per readiness
/// event); the decoder reads the unread part in place; consumed bytes are
/// dropped by moving the start, and the rest is moved to the front only when
/// the tail runs short.
struct ReceiveBuffer {
    private var storage: [UInt8]
    private var start = 0
    private var end = 0
    private let capacity: Int

    init(capacity: Int = 64 << 10) {
        self.capacity = capacity
        storage = [UInt8](repeating: 0, count: capacity)
    }

    /// How many bytes wait to be decoded.
    var unreadCount: Int { end - start }

    /// Lets `body` fill free space at the tail (at least `minimum` bytes of it)
    /// and records how many bytes it says it wrote.
    mutating func fill(minimum: Int, _ body: (UnsafeMutableRawPointer, Int) -> Int) -> Int {
        if storage.count - end < minimum {
            if start > 0 {
                storage.withUnsafeMutableBytes { bytes in
                    guard let base = bytes.baseAddress else { return }
                    base.copyMemory(from: base + start, byteCount: end - start)
                }
                end -= start
                start = 0
            }
            if storage.count - end < minimum {
                storage += [UInt8](repeating: 0, count: max(minimum, storage.count))
            }
        }
        let count = storage.withUnsafeMutableBytes { bytes -> Int in
            guard let base = bytes.baseAddress else { return 0 }
            return body(base + end, bytes.count - end)
        }
        end += max(0, count)
        return count
    }

    /// Calls `body` with the unread bytes.
    func withUnreadBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
    }

    /// Marks `count` unread bytes as decoded.
    mutating func consume(_ count: Int) {
        start += count
        if start == end {
            start = 0
            end = 0
            // One huge reply must not pin its buffer for the connection's life.
            if storage.count > 16 * capacity { storage = [UInt8](repeating: 0, count: capacity) }
        }
    }

    /// Drops everything (the connection they came from is gone).
    mutating func reset() {
        start = 0
        end = 0
    }
}
