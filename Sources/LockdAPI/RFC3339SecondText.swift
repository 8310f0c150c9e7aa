import Synchronization

/// The text of the last second ``RFC3339`` wrote, `2026-11-29T03:04:05`
/// (19 bytes), kept for the next instant in the same second: every grant
/// writes its expiry, and at any rate worth counting nearly all of a
/// second's grants expire in the same second (their TTLs alike), so each
/// copies 19 bytes instead of working out and writing six pairs of digits
/// (~0.15 k instructions an instant).
///
/// Read and written by every loop, so guarded as a sequence lock: readers
/// write nothing (no cache line passes between loops while the second
/// lasts), and a reader that overlaps a writer sees the version move and
/// works the text out itself. The text lies in three words; the second it
/// is for sits in the last word's top 40 bits, above the text's last three
/// bytes.
struct RFC3339SecondText: ~Copyable {
    /// Even while no writer is at work; a writer makes it odd, then even again.
    private let version = Atomic<UInt64>(0)
    private let first = Atomic<UInt64>(0)
    private let second = Atomic<UInt64>(0)
    /// Bytes 16–18 of the text, and the second + 1 from bit 24 (0: none yet).
    private let last = Atomic<UInt64>(0)

    /// The largest second kept (40 bits, less the one added).
    static let maxSecond: Int64 = 1 << 40 - 2

    init() {}

    /// Writes the 19 bytes of `secondsSinceEpoch`'s text at `position`
    /// (room for 24 bytes: three words are stored whole) if they are kept;
    /// false when not.
    func write(_ secondsSinceEpoch: Int64, to position: UnsafeMutableRawPointer) -> Bool {
        guard (0...Self.maxSecond).contains(secondsSinceEpoch) else { return false }
        let before = version.load(ordering: .acquiring)
        let first = first.load(ordering: .relaxed)
        let second = second.load(ordering: .relaxed)
        let last = last.load(ordering: .relaxed)
        // The words read before the version is read again.
        atomicMemoryFence(ordering: .acquiring)
        guard before & 1 == 0, version.load(ordering: .relaxed) == before,
              last >> 24 == UInt64(secondsSinceEpoch) + 1 else { return false }
        position.storeBytes(of: first, toByteOffset: 0, as: UInt64.self)
        position.storeBytes(of: second, toByteOffset: 8, as: UInt64.self)
        position.storeBytes(of: last, toByteOffset: 16, as: UInt64.self)
        return true
    }

    /// Keeps the 19 bytes at `text` as `secondsSinceEpoch`'s, unless another
    /// writer is at work (it keeps its own second).
    func keep(_ secondsSinceEpoch: Int64, text: UnsafeRawPointer) {
        guard (0...Self.maxSecond).contains(secondsSinceEpoch) else { return }
        let before = version.load(ordering: .relaxed)
        guard before & 1 == 0,
              version.compareExchange(expected: before, desired: before &+ 1, ordering: .acquiring).exchanged else { return }
        // The words stored after the odd version is seen (a reader then
        // finds it odd, or changed, and does not use them).
        atomicMemoryFence(ordering: .releasing)
        first.store(text.loadUnaligned(fromByteOffset: 0, as: UInt64.self), ordering: .relaxed)
        second.store(text.loadUnaligned(fromByteOffset: 8, as: UInt64.self), ordering: .relaxed)
        let tail = UInt64(text.load(fromByteOffset: 16, as: UInt8.self))
            | UInt64(text.load(fromByteOffset: 17, as: UInt8.self)) << 8
            | UInt64(text.load(fromByteOffset: 18, as: UInt8.self)) << 16
        last.store(tail | (UInt64(secondsSinceEpoch) + 1) << 24, ordering: .relaxed)
        version.store(before &+ 2, ordering: .releasing)
    }
}
