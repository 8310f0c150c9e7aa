#if canImport(Glibc)
import Glibc
#endif

/// Bytes read from a stream and not yet consumed, in memory of its own.
///
/// An empty stream holds no memory (an idle connection costs nothing here).
/// A read goes straight into the tail; the owner reads the unread part in
/// place; consumed bytes are dropped by moving the start, and the rest is
/// moved to the front only when the tail runs short.
///
/// A class over manually managed memory rather than an array, so that the
/// unread bytes can be lent to a stream's delegate without holding a Swift
/// access open across the call: the delegate may close the stream meanwhile.
/// The memory stays valid until ``fill(minimum:_:)``, ``append(_:)`` or
/// ``consume(_:)``; ``reset()`` never frees it. Loop thread only.
final class InputBuffer {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    private var start = 0
    private var end = 0

    /// Memory kept once everything is consumed; anything larger is released.
    private static let retainedCapacity = 64 << 10

    deinit { free(storage) }

    /// How many bytes wait to be consumed. (`0 <= start <= end <= capacity`
    /// always holds, so the difference cannot overflow: no check, on a
    /// path every read takes.)
    var count: Int { end &- start }
    var isEmpty: Bool { end == start }

    /// The unread bytes, valid until the next fill, append or consume.
    var unread: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.map { $0 + start }, count: end - start)
    }

    /// Lets `body` fill free space at the tail (at least `minimum` bytes of it)
    /// and records how many bytes it says it wrote.
    func fill(minimum: Int, _ body: (UnsafeMutableRawPointer, Int) -> Int) -> Int {
        guard reserve(minimum), let storage else { return 0 }
        let count = body(storage + end, capacity - end)
        end += max(0, count)
        return count
    }

    /// Appends `bytes`.
    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        _ = fill(minimum: bytes.count) { target, _ in
            target.copyMemory(from: source, byteCount: bytes.count)
            return bytes.count
        }
    }

    /// Marks `count` unread bytes as consumed.
    func consume(_ count: Int) {
        start += min(max(0, count), end - start)
        guard start == end else { return }
        start = 0
        end = 0
        // One huge message must not pin its memory for the stream's life.
        if capacity > Self.retainedCapacity {
            free(storage)
            storage = nil
            capacity = 0
        }
    }

    /// Drops every unread byte; the memory stays (bytes lent out stay readable).
    func reset() {
        start = 0
        end = 0
    }

    /// Makes room for `minimum` bytes at the tail; false when memory runs out.
    private func reserve(_ minimum: Int) -> Bool {
        guard capacity - end < minimum else { return true }
        if start > 0, let storage {
            storage.copyMemory(from: storage + start, byteCount: end - start)
            end -= start
            start = 0
        }
        guard capacity - end < minimum else { return true }
        let grown = max(end + minimum, 2 * capacity)
        guard let memory = realloc(storage, grown) else { return false }
        storage = memory
        capacity = grown
        return true
    }
}
