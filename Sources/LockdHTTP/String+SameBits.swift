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
