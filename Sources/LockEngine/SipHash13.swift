/// SipHash-1-3 (one compression round a word, three to finish), the
/// keyed hash `Hasher` uses, over little-endian 64-bit words: for a caller
/// that reads its bytes a word at a time anyway (``LockName``'s check).
struct SipHash13 {
    private var v0: UInt64
    private var v1: UInt64
    private var v2: UInt64
    private var v3: UInt64

    /// A hash under the 128-bit `key`.
    @inline(__always)
    init(key: (UInt64, UInt64)) {
        v0 = key.0 ^ 0x736F_6D65_7073_6575
        v1 = key.1 ^ 0x646F_7261_6E64_6F6D
        v2 = key.0 ^ 0x6C79_6765_6E65_7261
        v3 = key.1 ^ 0x7465_6462_7974_6573
    }

    /// Feeds eight bytes (the first in the low byte).
    @inline(__always)
    mutating func compress(_ word: UInt64) {
        v3 ^= word
        round()
        v0 ^= word
    }

    /// The hash of all `count` bytes: `tail` holds the last `count % 8`
    /// (the first in the low byte; the rest zero).
    @inline(__always)
    mutating func finalize(tail: UInt64, count: Int) -> UInt64 {
        compress(tail | UInt64(truncatingIfNeeded: count) << 56)
        v2 ^= 0xFF
        round()
        round()
        round()
        return v0 ^ v1 ^ v2 ^ v3
    }

    @inline(__always)
    private mutating func round() {
        v0 = v0 &+ v1
        v1 = v1.rotatedLeft(13) ^ v0
        v0 = v0.rotatedLeft(32)
        v2 = v2 &+ v3
        v3 = v3.rotatedLeft(16) ^ v2
        v0 = v0 &+ v3
        v3 = v3.rotatedLeft(21) ^ v0
        v2 = v2 &+ v1
        v1 = v1.rotatedLeft(17) ^ v2
        v2 = v2.rotatedLeft(32)
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedLeft(_ count: UInt64) -> UInt64 {
        self << count | self >> (64 - count)
    }
}
