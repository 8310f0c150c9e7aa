/// Commands waiting to be sent, written where they are sent from: an
/// encoder writes each command straight into the buffer's spare room
/// (`RESPEncoder.encodeCommand(_:into:)` given these bytes), where
/// writing it into scratch space and appending that to an `[UInt8]` cost a
/// copy and `append(contentsOf:)`'s generic upkeep (~190 instructions a
/// script call).
///
/// The bytes not yet taken (sent) lie between ``start`` and the end; once
/// all are taken the buffer is reused from its beginning, its capacity kept.
///
/// ```swift
/// var bytes = RESPCommandBytes()
/// RESPEncoder.encodeCommand(["GET", "k"], into: &bytes)
/// bytes.withBytes { sent = socket.write($0) }
/// bytes.removeFirst(sent)
/// ```
public struct RESPCommandBytes {
    /// Initialized throughout (zeros at first): the room past ``end`` is
    /// written in place, with no append per command.
    @usableFromInline var storage: [UInt8] = []
    /// Where the bytes not yet taken begin.
    @usableFromInline var start = 0
    /// Where they end: the room after it is free.
    @usableFromInline var end = 0

    /// An empty buffer.
    public init() {}

    /// How many bytes wait to be taken.
    @inlinable public var count: Int { end - start }

    /// Whether no byte waits.
    @inlinable public var isEmpty: Bool { start == end }

    /// Calls `body` with the bytes waiting to be taken.
    @inlinable
    public func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
    }

    /// Takes the first `count` waiting bytes (they were sent).
    @inlinable
    public mutating func removeFirst(_ count: Int) {
        precondition(count >= 0 && count <= self.count, "more bytes taken than wait")
        start += count
        if start == end { (start, end) = (0, 0) }
    }

    /// Removes the waiting bytes at `offsets` (counted from the first
    /// waiting byte); those after them move up.
    public mutating func remove(_ offsets: Range<Int>) {
        precondition(offsets.lowerBound >= 0 && offsets.upperBound <= count, "bytes removed that do not wait")
        storage.removeSubrange((start + offsets.lowerBound)..<(start + offsets.upperBound))
        end -= offsets.count
        if start == end { (start, end) = (0, 0) }
    }

    /// Drops every waiting byte, keeping the capacity.
    public mutating func removeAll() {
        (start, end) = (0, 0)
    }

    /// Appends what `write` writes at a pointer to `room` free bytes; it
    /// returns how many it wrote (at most `room`).
    @usableFromInline
    mutating func append(room: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int) {
        // (`end` ≤ `storage.count`, and `written` ≤ `room`, which fits
        // past `end` once grown: the differences and the sum wrap, no
        // overflow check needed.)
        if storage.count &- end < room {
            // At least doubled: growing is rare once the buffer holds an iteration's commands.
            storage.append(contentsOf: repeatElement(0, count: max(room - (storage.count - end), storage.count)))
        }
        let end = self.end
        let written = storage.withUnsafeMutableBufferPointer { buffer -> Int in
            guard let base = buffer.baseAddress else { return 0 }  // never: `room` bytes are there
            return write(base + end)
        }
        precondition(written >= 0 && written <= room, "a command written beyond its room")
        self.end = end &+ written
    }
}
