extension String {
    /// Whether `self` and `other` are held in the same bits: the same small
    /// string, or the same storage (a literal, or one string copied) — so
    /// equal. False says nothing: equal strings may be held apart. For an
    /// assignment skipped when it would change nothing: assigning a string
    /// retains the new one and releases the old (~30 instructions), where
    /// `==` on strings held apart calls into the standard library.
    @inline(__always)
    func hasSameBits(as other: String) -> Bool {
        guard MemoryLayout<String>.size == 16 else { return false }
        return withUnsafeBytes(of: self) { mine in
            withUnsafeBytes(of: other) { theirs in
                mine.loadUnaligned(as: UInt64.self) == theirs.loadUnaligned(as: UInt64.self)
                    && mine.loadUnaligned(fromByteOffset: 8, as: UInt64.self) == theirs.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            }
        }
    }
}

extension String {
    /// Whether `self == other`, told from the strings' bits where they
    /// settle it: the same bits are equal strings, and two small ASCII
    /// strings (held within their 16 bytes, the top four bits of the
    /// second word `0xE`: immortal, ASCII, small) with different bits are
    /// different strings — an ASCII string has one form, and a small one
    /// its bytes, its count and zeros. Any other pair is compared by `==`.
    /// For HTTP methods, short ASCII tokens: `==` on two different ones
    /// called the standard library's compare (~20 instructions each).
    @inline(__always)
    func equalsByBits(_ other: String) -> Bool {
        guard MemoryLayout<String>.size == 16 else { return self == other }
        // The words as values (through memory, `withUnsafeBytes(of:)`
        // gave the caller a stack protector: ~7 instructions a call).
        let mine = unsafeBitCast(self, to: (UInt64, UInt64).self), theirs = unsafeBitCast(other, to: (UInt64, UInt64).self)
        if mine.0 == theirs.0 && mine.1 == theirs.1 { return true }
        if mine.1 &>> 60 == 0xE && theirs.1 &>> 60 == 0xE { return false }
        return self == other
    }
}
