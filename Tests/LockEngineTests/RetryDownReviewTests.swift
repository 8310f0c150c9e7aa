import LockdTestSupport
import LockEngine
import LockdTransport
import Testing

/// review3, session 13: a retried acquire (the holder's own token) sets the
/// lease's TTL to the requested one (PRODUCT.md, retry-safe acquire) — so a
/// retry with a shorter TTL brings the expiry forward exactly as a renewal
/// down does (RenewDownWaitTests), and the queue must look again then, not at
/// the old expiry or its next periodic look (5 s). (A waiter not told is
/// granted only by the last look its wait's end makes: the elapsed time
/// tells the two apart, with RenewDownWaitTests' margin.)
@Suite struct RetryDownReviewTests {
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aWaiterIsGrantedWhenALeaseRetriedDownExpires(store: StoreKind, limit: Int) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            var holders: [AcquireGrant] = []
            for _ in 0..<limit {
                holders.append(try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, token: .random(), limit: limit)))
            }
            let waiter = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 4_000, limit: limit)) }
            #expect(try await eventually { try await engine.status(of: name).waiting == 1 })
            let started = MonotonicClock.now()
            let retried = try await engine.acquire(AcquireRequest(name: name, ttlMs: 300, token: holders[0].lease.token, limit: limit))
            #expect(retried.isRetry && retried.lease.fence == holders[0].lease.fence)
            let granted = try await waiter.value
            let waitedMs = (MonotonicClock.now() - started) / 1_000_000
            #expect(granted.lease.fence > holders.map(\.lease.fence).max() ?? 0)
            #expect(waitedMs < 2_000, "the waiter was granted only by its wait's last look, \(waitedMs) ms after the retry down")
        }
    }
}
