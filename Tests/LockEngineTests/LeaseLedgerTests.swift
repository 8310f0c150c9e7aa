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
}
