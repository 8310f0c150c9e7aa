/// The plaintext a ``StreamSocket`` has queued and not yet sent: bytes
/// `sent..<end` of an array whose `count` is its room, not its use.
///
/// An owner that knows a bound on what it appends writes straight into the
/// room (``write(atMost:_:)``): a response's head and body written into
/// stack space and appended (a copy, and `append`'s checks, twice) cost
/// ~0.2 k instructions a response more. Emptying after a send only resets
/// two numbers (`removeAll(keepingCapacity:)` went through
/// `replaceSubrange`, ~0.1 k instructions a send).
@usableFromInline struct OutputQueue {
    /// Room at least this large is made when room runs out.
    static let minimumRoom = 1_024
    /// Room larger than this is not kept once everything is sent.
    static let maxKeptRoom = 4_096

    /// `count` is the room; bytes past ``end`` are not queued.
    private var storage: [UInt8] = []
    /// Bytes `0..<end` of ``storage`` were queued.
    @usableFromInline private(set) var end = 0
    /// Bytes `0..<sent` were sent.
    @usableFromInline private(set) var sent = 0

    /// Bytes queued and not yet sent. (`0 <= sent <= end <= storage.count`
    /// always holds — a send takes at most the bytes it is offered — so
    /// the difference cannot overflow: no check, on every send's path.)
    @inlinable var unsent: Int { end &- sent }

    /// Appends through `body`, which gets an array holding the queued bytes
    /// (for owners that append arrays: rare paths, such as streamed bodies).
    mutating func append(_ body: (inout [UInt8]) -> Void) {
        // The room past `end` is dropped first: `body` appends after `end`.
        if storage.count > end { storage.removeSubrange(end...) }
        body(&storage)
        end = storage.count
    }

    /// Appends what `body` writes at the pointer it is given, where there is
    /// room for `maxCount` bytes; `body` returns how many it wrote (at most `maxCount`).
    mutating func write(atMost maxCount: Int, _ body: (UnsafeMutableRawPointer) -> Int) {
        let start = end
        if storage.count - start < maxCount { grow(toAtLeast: start + maxCount) }
        let written = storage.withUnsafeMutableBytes { room -> Int in
            // Never nil: the room is at least `maxCount` > 0 bytes, or nothing is written.
            guard let base = room.baseAddress else { return 0 }
            return body(base + start)
        }
        precondition(written >= 0 && written <= maxCount, "OutputQueue.write wrote outside its room")
        end = start + written
    }

    /// Makes room for `size` bytes at least, keeping the queued ones.
    private mutating func grow(toAtLeast size: Int) {
        // Zeroed and the queued bytes copied at once: appending the room
        // would go element by element.
        var grown = [UInt8](repeating: 0, count: Swift.max(size, Self.minimumRoom, storage.count * 2))
        let end = end
        if end > 0 {
            grown.withUnsafeMutableBytes { grown in
                storage.withUnsafeBytes { storage in grown.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[..<end])) }
            }
        }
        storage = grown
    }

    /// Calls `body` with the bytes not sent yet. Mutating (it changes
    /// nothing) so that an owner's stored queue and its storage are
    /// accessed in place: read as values, the storage was retained and
    /// released around the call (~40 instructions a send), where the
    /// mutable access checks only that it is not shared (it never is).
    /// `body` must not touch the queue.
    mutating func withUnsentBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let (sent, end) = (sent, end)
        return storage.withUnsafeMutableBytes { body(UnsafeRawBufferPointer(rebasing: $0[sent..<end])) }
    }

    /// Notes that `count` more bytes were sent; once all are, the queue is
    /// emptied (its room kept unless large).
    mutating func sent(_ count: Int) {
        sent += count
        guard sent == end else { return }
        sent = 0
        end = 0
        if storage.count > Self.maxKeptRoom { storage = [] }
    }

    /// Drops everything queued and the room.
    mutating func removeAll() {
        storage = []
        end = 0
        sent = 0
    }
}
