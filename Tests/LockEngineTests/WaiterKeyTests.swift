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
