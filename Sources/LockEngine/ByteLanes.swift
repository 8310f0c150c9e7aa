/// Comparisons of the eight bytes of a word at once, each below 0x80 (so
/// that a byte's addition cannot carry into the next): the high bit of each
/// byte says whether that byte passed. ``LockName`` and ``LeaseToken`` check
/// their characters eight at a time with them.
enum ByteLanes {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let high: UInt64 = 0x8080_8080_8080_8080

    /// High bit set where the byte is at least `low`.
    @inline(__always)
    static func atLeast(_ word: UInt64, _ low: UInt64) -> UInt64 { (word &+ ones &* (0x80 - low)) & high }

    /// High bit set where the byte is at most `top`.
    @inline(__always)
    static func atMost(_ word: UInt64, _ top: UInt64) -> UInt64 { ~(word &+ ones &* (0x7F - top)) & high }

    /// High bit set where the byte equals `byte`.
    @inline(__always)
    static func equal(_ word: UInt64, _ byte: UInt64) -> UInt64 { ~((word ^ (ones &* byte)) &+ ones &* 0x7F) & high }
}
