import LockdTestSupport
import LockEngine
import Testing

/// review2, round 2: a no-wait acquire under lockd's own token whose first
/// grant was late and could not be given back (queued for later), whose
/// second attempt found that lease late again and released it
/// (`releaseOwn`), and whose third attempt was granted a fresh lease under
/// the same token and delivered it. The give-back still queued from the
/// first attempt must not end the lease the client now holds.
@Suite struct OwnTokenReleaseReviewTests {
    @Test(arguments: StoreKind.allCases)
    func aQueuedGiveBackSparesTheFreshLeaseTheClientHolds(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            // Attempts 1 and 2 late (stalled on their way to the store); the
            // first give-back fails (outage) and is queued; attempt 3 is on time.
            let late = StalledStore(inner, stalls: 2, stall: .milliseconds(1_850), beforeAsking: true, releaseFailures: 1)
            try await late.withEngine { engine in
                let name = try LockName(uniqueLockName())
                let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 2_000))
                #expect(late.grantsSeen.count == 3)
                // The client keeps its lease: it renews it for a minute.
                let renewed = try await engine.renew(name, token: grant.lease.token, ttlMs: 60_000)
                #expect(renewed.fence == grant.lease.fence)
                // The upkeep then gives back what the first attempt queued.
                #expect(await late.upkeepGivesBack(engine))
                #expect(try await inner.status(of: name).holders.map(\.fence) == [grant.lease.fence],
                        "the lease delivered to the client (and renewed by it) was ended by a queued give-back")
            }
        }
    }
}
