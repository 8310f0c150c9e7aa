import Testing

@testable import LockEngine

/// The pool hands out each byte once, across its refills (the pool held
/// in memory of its own since wip-api34, not in an array).
@Suite struct EntropyPoolTests {
    /// Several pools' worth of tokens' 32 bytes, and fills of other sizes
    /// between them: no two fills alike, none all zero, the pool's
    /// zeroing of what it handed out never seen by a caller.
    @Test func fillsAcrossRefillsAreFreshAndNeverZero() {
        let pool = EntropyPool()
        var seen = Set<[UInt8]>()
        for round in 0..<700 {
            let count = round.isMultiple(of: 7) ? 1 + round % 61 : 32
            var bytes = [UInt8](repeating: 0, count: count)
            bytes.withUnsafeMutableBytes { pool.fill($0) }
            if count >= 16 {
                #expect(bytes.contains { $0 != 0 }, "round \(round): \(count) zero bytes")
                #expect(seen.insert(bytes).inserted, "round \(round): a fill seen before")
            }
        }
        // More than a pool's worth asked at once: from the system directly.
        var large = [UInt8](repeating: 0, count: 2_048)
        large.withUnsafeMutableBytes { pool.fill($0) }
        #expect(large.contains { $0 != 0 })
    }

    /// Server-made tokens from the shared pool are distinct across refills.
    @Test func randomTokensAreDistinct() {
        var tokens = Set<LeaseToken>()
        for _ in 0..<1_000 { tokens.insert(LeaseToken.random()) }
        #expect(tokens.count == 1_000)
    }
}
