import CoreMetrics
import Testing

@testable import LockEngine

/// The ledger behind `lockd_locks_held` and the expiry figures: one lease
/// per name kept inline, a name's further leases apart; every lease is found,
/// renewed, released and swept wherever it is kept.
@Suite struct LeaseLedgerTests {
    private static let second: UInt64 = 1_000_000_000

    private func lease(_ name: LockName, _ token: String, ttlMs: Int64 = 1_000) throws -> Lease {
        Lease(name: name, token: try LeaseToken(token), fence: 1, ttlMs: ttlMs, expiresAtMs: 0, owner: nil, mode: .shared, limit: 3)
    }

    @Test func aNameWithSeveralLeasesLosesEachByItsToken() throws {
        let ledger = LeaseLedger(factory: NOOPMetricsHandler.instance)
        let name = try LockName("ledger-shared")
        let tokens = ["token-aaaaaaaaaaaaaaaaaaaa", "token-bbbbbbbbbbbbbbbbbbbb", "token-cccccccccccccccccccc"]
        for token in tokens { ledger.granted(try lease(name, token), isRetry: false, now: 0) }
        ledger.granted(try lease(try LockName("ledger-other"), tokens[0]), isRetry: false, now: 0)
        #expect(ledger.count == 4)
        // A retry of a known lease is not a new one.
        ledger.granted(try lease(name, tokens[1]), isRetry: true, now: 0)
        #expect(ledger.count == 4)
        // Released in an order that takes the inline one first, then the others.
        ledger.released(name, token: try LeaseToken(tokens[2]), now: 1)
        #expect(ledger.count == 3)
        ledger.released(name, token: try LeaseToken(tokens[2]), now: 1)  // twice: no change
        #expect(ledger.count == 3)
        ledger.released(name, token: try LeaseToken(tokens[0]), now: 1)
        ledger.released(name, token: try LeaseToken(tokens[1]), now: 1)
        #expect(ledger.count == 1)
        ledger.released(try LockName("ledger-other"), token: try LeaseToken(tokens[0]), now: 1)
        #expect(ledger.count == 0)
    }

    @Test func aSweepEndsExpiredLeasesAndKeepsRenewedOnes() throws {
        let ledger = LeaseLedger(factory: NOOPMetricsHandler.instance)
        let name = try LockName("ledger-sweep")
        let tokens = ["token-dddddddddddddddddddd", "token-eeeeeeeeeeeeeeeeeeee", "token-ffffffffffffffffffff"]
        for token in tokens { ledger.granted(try lease(name, token), isRetry: false, now: 0) }
        // The first and the last renewed for 10 s at 0.5 s; the middle one runs out.
        ledger.renewed(try lease(name, tokens[0], ttlMs: 10_000), now: Self.second / 2)
        ledger.renewed(try lease(name, tokens[2], ttlMs: 10_000), now: Self.second / 2)
        ledger.sweep(now: 3 * Self.second)  // past 1 s of TTL and 1 s of grace
        #expect(ledger.count == 2)
        ledger.sweep(now: 12 * Self.second)
        #expect(ledger.count == 0)
        // A lease whose name lost its other leases is still found.
        ledger.granted(try lease(name, tokens[1]), isRetry: false, now: 12 * Self.second)
        ledger.released(name, token: try LeaseToken(tokens[1]), now: 12 * Self.second)
        #expect(ledger.count == 0)
    }

    /// More leases than the ledger's list of recent ones holds (the rest go
    /// to its table), renewed, swept and released in turn: each is counted
    /// once, found wherever it is kept, and its expiry seen wherever it is kept.
    @Test func leasesBeyondTheRecentListAreFoundRenewedAndSwept() throws {
        let ledger = LeaseLedger(factory: NOOPMetricsHandler.instance)
        let total = RecentLeases.capacity * 3
        let leases = try (0..<total).map { index in
            try lease(try LockName("ledger-many-\(index)"), "token-\(String(repeating: "m", count: 20))-\(index)")
        }
        for lease in leases { ledger.granted(lease, isRetry: false, now: 0) }
        #expect(ledger.count == total)
        // A retry is no new lease, wherever the lease is kept.
        ledger.granted(leases[0], isRetry: true, now: 0)
        ledger.granted(leases[total - 1], isRetry: true, now: 0)
        #expect(ledger.count == total)
        // The even ones renewed for 10 s; the odd ones run out.
        for (index, lease) in leases.enumerated() where index % 2 == 0 {
            var renewed = lease
            renewed.ttlMs = 10_000
            ledger.renewed(renewed, now: Self.second / 2)
        }
        ledger.sweep(now: 3 * Self.second)
        #expect(ledger.count == total / 2)
        // The swept ones are gone; the renewed ones are found once each.
        for (index, lease) in leases.enumerated() {
            #expect(ledger.released(lease.name, token: lease.token, now: 4 * Self.second) == (index % 2 == 0), "lease \(index)")
        }
        #expect(ledger.count == 0)
        for lease in leases { #expect(!ledger.released(lease.name, token: lease.token, now: 4 * Self.second)) }
    }

    /// A lease still in the recent list when a sweep comes is moved into the
    /// table: released after it, it is found there; run out, it is swept.
    @Test func aSweepMovesRecentLeasesIntoTheTable() throws {
        let ledger = LeaseLedger(factory: NOOPMetricsHandler.instance)
        let kept = try lease(try LockName("ledger-moved"), "token-gggggggggggggggggggg", ttlMs: 10_000)
        let lapsed = try lease(try LockName("ledger-lapsed"), "token-hhhhhhhhhhhhhhhhhhhh")
        ledger.granted(kept, isRetry: false, now: 0)
        ledger.granted(lapsed, isRetry: false, now: 0)
        ledger.sweep(now: Self.second)  // nothing due yet: both moved, both held
        #expect(ledger.count == 2)
        ledger.sweep(now: 3 * Self.second)
        #expect(ledger.count == 1)
        #expect(!ledger.released(lapsed.name, token: lapsed.token, now: 3 * Self.second))
        #expect(ledger.released(kept.name, token: kept.token, now: 3 * Self.second))
        #expect(ledger.count == 0)
    }
}
