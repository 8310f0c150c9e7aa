import Testing

@testable import LockEngine

/// The lease ledger's table after a burst: its freed places were reused but
/// never given back, so a burst of leases kept the table (and its index) at
/// the burst's size for good. The sweep rebuilds it small, and the leases
/// left are found, moved and ended as before.
@Suite struct LeaseTableShrinkTests {
    private static let second: UInt64 = 1_000_000_000

    private func token(_ number: Int) throws -> LeaseToken {
        try LeaseToken("shrink-\(String(number, radix: 16))-" + String(repeating: "q", count: 16))
    }

    @Test func aBurstOfLeasesDoesNotKeepItsTableOnceTheyAreGone() throws {
        var table = LeaseTable(grace: Self.second)
        let burst = 8 * LeaseTable.minimumRoom
        // A burst on fresh names, and one name with three leases (a semaphore's).
        for number in 0..<burst {
            table.add(try LockName("burst-\(number)"), token: try token(number),
                      times: .init(grantedAt: 0, expiresAt: 100 * Self.second))
        }
        let shared = try LockName("burst-shared")
        for number in 0..<3 {
            table.add(shared, token: try token(burst + number), times: .init(grantedAt: 0, expiresAt: UInt64(20 + number) * Self.second))
        }
        #expect(table.room >= burst)
        // All but a few of the burst released; the sweep finds none due yet.
        let kept = [7, 4_242, burst - 1]
        for number in 0..<burst where !kept.contains(number) {
            #expect(table.remove(try LockName("burst-\(number)"), token: try token(number)) != nil)
        }
        #expect(table.removeDue(now: Self.second).isEmpty)
        #expect(table.count == kept.count + 3)
        #expect(table.room <= 2 * LeaseTable.minimumRoom, "the table kept room for \(table.room) leases after the burst")
        // The leases left are all found, moved and ended as before the rebuild.
        table.setExpiry(shared, token: try token(burst + 1), to: 50 * Self.second)
        #expect(table.remove(try LockName("burst-\(kept[1])"), token: try token(kept[1])) == .init(grantedAt: 0, expiresAt: 100 * Self.second))
        #expect(table.remove(try LockName("burst-\(kept[1])"), token: try token(kept[1])) == nil)
        // Due at 21 s and 23 s (a second of grace): the shared name's first and third.
        #expect(Set(table.removeDue(now: 30 * Self.second).map(\.expiresAt)) == [20 * Self.second, 22 * Self.second])
        #expect(table.remove(shared, token: try token(burst)) == nil)
        #expect(table.remove(shared, token: try token(burst + 1)) == .init(grantedAt: 0, expiresAt: 50 * Self.second))
        #expect(table.removeDue(now: 200 * Self.second).count == 2)
        #expect(table.count == 0)
        // A fresh name after the rebuild goes in and out as any.
        table.add(try LockName("after-burst"), token: try token(1), times: .init(grantedAt: 1, expiresAt: 2))
        #expect(table.remove(try LockName("after-burst"), token: try token(1)) == .init(grantedAt: 1, expiresAt: 2))
    }
}
