/// Finds where a JSON string without escapes ends, eight bytes at a time: read
/// byte by byte, the strings of a lease (its name, token, expiry, owner) took
/// most of the ~4k instructions its JSON cost a cycle (benchmarks/sdk).
enum JSONStringScan {
    /// The index of the first `"` at or after `start` in `bytes`, or nil when a
    /// backslash or a control character (below 0x20) comes first, or none follows.
    static func closingQuote(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let base = bytes.baseAddress, start >= 0 else { return nil }
        let count = bytes.count
        var index = start
        while index <= count &- 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            // A byte's high bit is set for a `"`, a `\` or a control byte. A borrow can
            // flag bytes above the first match too, never one below it: the lowest
            // flagged byte is a match, and the only one read.
            let flags = zeroBytes(word ^ 0x2222_2222_2222_2222) | zeroBytes(word ^ 0x5C5C_5C5C_5C5C_5C5C)
                | ((word &- 0x2020_2020_2020_2020) & ~word & 0x8080_8080_8080_8080)
            if flags != 0 {
                let match = index &+ flags.trailingZeroBitCount &>> 3
                return base[match] == UInt8(ascii: "\"") ? match : nil
            }
            index &+= 8
        }
        while index < count {
            switch base[index] {
            case UInt8(ascii: "\""): return index
            case UInt8(ascii: "\\"), 0..<0x20: return nil
            default: index &+= 1
            }
        }
        return nil
    }

    /// The high bit of every zero byte of `word` set (and maybe of bytes above the first).
    private static func zeroBytes(_ word: UInt64) -> UInt64 {
        (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
    }
}
