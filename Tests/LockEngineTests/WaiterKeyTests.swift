@testable import LockEngine
import Testing

/// The waiter registry's key hashes an id by its first sixteen bytes and
/// compares it whole: equal ids are one key, ids that differ only past
/// those bytes are two.
@Suite struct WaiterKeyTests {
    @Test func equalIdsAreOneKeyHoweverLong() {
        for text in ["", "a", "0123456789abcde", "0123456789abcdef", "0123456789abcdef:s", "0123456789abcdef:12"] {
            let copy = String(decoding: Array(text.utf8), as: UTF8.self)
            #expect(WaiterKey(WaiterID(text)) == WaiterKey(WaiterID(copy)))
            #expect(WaiterKey(WaiterID(text)).hashValue == WaiterKey(WaiterID(copy)).hashValue)
        }
    }

    @Test func idsThatDifferOnlyPastSixteenBytesAreTwoKeys() {
        var table: [WaiterKey: Int] = [:]
        table[WaiterKey(WaiterID("0123456789abcdef"))] = 1
        table[WaiterKey(WaiterID("0123456789abcdef:s"))] = 2
        table[WaiterKey(WaiterID("0123456789abcdef:3"))] = 3
        #expect(table.count == 3)
        #expect(table[WaiterKey(WaiterID("0123456789abcdef:s"))] == 2)
        #expect(table[WaiterKey(WaiterID("0123456789abcdef"))] == 1)
    }

    @Test func randomIdsAreDistinctKeys() {
        var table: [WaiterKey: Int] = [:]
        for index in 0..<1_000 { table[WaiterKey(WaiterID.random())] = index }
        #expect(table.count == 1_000)
    }
}

/// The registry's table places an id by its words mixed with the table's
/// seed (``WaiterKey/_rawHashValue(seed:)``): equal ids in one place, and
/// lockd's random ids spread over the low bits a table uses.
@Suite struct WaiterKeyPlacementTests {
    @Test func equalIdsArePlacedAlikeUnderEverySeed() {
        for text in ["", "a", "0123456789abcdef", "0123456789abcdef:s", "0123456789abcdef:12"] {
            let copy = String(decoding: Array(text.utf8), as: UTF8.self)
            for seed in [0, 1, -1, 0x5eed, Int.max] {
                #expect(WaiterKey(WaiterID(text))._rawHashValue(seed: seed) == WaiterKey(WaiterID(copy))._rawHashValue(seed: seed))
            }
        }
    }

    @Test func randomIdsSpreadOverTheLowBits() {
        // 1,024 random ids in 1,024 buckets: about 647 buckets are used
        // when placing is uniform; a mix that left the low bits to the hex
        // digits' few patterns would use far fewer.
        for seed in [0, 0x5eed] {
            var used = Set<Int>()
            for _ in 0..<1_024 { used.insert(WaiterKey(WaiterID.random())._rawHashValue(seed: seed) & 1_023) }
            #expect(used.count > 560)
        }
    }

    @Test func idsThatDifferInEitherWordArePlacedApart() {
        let base = WaiterKey(WaiterID("0123456789abcdef"))._rawHashValue(seed: 7)
        #expect(WaiterKey(WaiterID("1123456789abcdef"))._rawHashValue(seed: 7) != base)
        #expect(WaiterKey(WaiterID("0123456789abcdee"))._rawHashValue(seed: 7) != base)
        #expect(WaiterKey(WaiterID("0123456789abcdef"))._rawHashValue(seed: 8) != base)
    }
}
