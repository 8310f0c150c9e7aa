import LockdTestSupport
import LockEngine
import Testing

/// review2, round 2: a no-wait acquire under lockd's own token whose first
/// grant was late and could not be given back (queued for later), whose
/// second attempt found that lease, late again (5604e0f released it there:
/// `releaseOwn`), and whose third attempt was granted under the same token
/// and delivered. The give-back still queued from the first attempt must
/// not end the lease the client now holds.
///
/// The stalls make the first two grants late whatever the machine's load;
/// the real store keeps each lease a minute (``StalledStore``'s
/// `leasesLastMs`), so the next attempt finds it however late it comes —
/// with a 2 s lease alone, a second attempt more than 150 ms behind found
/// none, and the test passed on another path.
@Suite struct OwnTokenReleaseReviewTests {
    @Test(arguments: StoreKind.allCases)
    func aQueuedGiveBackSparesTheFreshLeaseTheClientHolds(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            // Attempts 1 and 2 late (stalled on their way to the store); the
            // first give-back fails (outage) and is queued; attempt 3 is on time.
            let late = StalledStore(inner, stalls: 2, stall: .milliseconds(1_850), beforeAsking: true, releaseFailures: 1,
                                    leasesLastMs: 60_000)
            try await late.withEngine { engine in
                let name = try LockName(uniqueLockName())
                let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 2_000))
                try #require(late.grantsSeen.count == 3)
                #expect(late.grantsSeen[1].fence == late.grantsSeen[0].fence, "the second attempt did not find the first one's lease")
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
