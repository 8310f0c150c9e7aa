import LockdTestSupport
import LockEngine
import Testing

/// review3, session 13: a retried acquire (the holder's own token) sets the
/// lease's TTL to the requested one (PRODUCT.md, retry-safe acquire) — so a
/// retry with a shorter TTL brings the expiry forward exactly as a renewal
/// down does (RenewDownWaitTests), and the queue must look again then, not at
/// the old expiry or its next periodic look.
@Suite struct RetryDownReviewTests {
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aWaiterIsGrantedWhenALeaseRetriedDownExpires(store: StoreKind, limit: Int) async throws {
        try await RenewDownWaitTests.aWaiterIsGrantedWhenAHolderEndsSooner(store: store, limit: limit) { engine, holder in
            let retried = try await engine.acquire(AcquireRequest(name: holder.name, ttlMs: 300, token: holder.token, limit: holder.limit))
            #expect(retried.isRetry && retried.lease.fence == holder.fence)
        }
    }

    /// On Redis, in either layout, the retry itself announces (as
    /// ``RenewDownWaitTests/aRenewalDownAnnouncesWhenTheQueueLooksAgain(limit:)``).
    @Test(arguments: [1, 3])
    func aRetryDownAnnouncesWhenTheQueueLooksAgain(limit: Int) async throws {
        try await RenewDownWaitTests.aHolderEndingSoonerAnnounces(limit: limit) { store, holder in
            var retry = holder
            retry.ttlMs = 300
            guard case .granted(_, isRetry: true, _) = try await store.acquire(retry) else { throw LockError.leaseLost }
        }
    }
}
