import LockdTestSupport
import LockEngine
import Testing

/// A client may send its own token, so that it can retry an acquire whose
/// answer it did not get. When such a retry is cancelled (its caller hung
/// up) lockd gives back what that retry was granted — and only that: never
/// the lease the client holds from an earlier answer, nor one a later
/// request under the same token delivered.
@Suite struct CancelledRetryGiveBackTests {
    /// The client holds the lease from its first answer; its retry is
    /// cancelled before the store saw it, then once more after the store
    /// found the lease (the retry's reply dropped). Neither retry granted
    /// anything: the lease stays the client's.
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aCancelledRetryLeavesTheClientTheLeaseItHolds(store: StoreKind, limit: Int) async throws {
        try await store.withEngine { _, inner in
            let lossy = StalledStore(inner, stalls: 0, stall: .zero)
            try await lossy.withEngine { engine in
                let request = AcquireRequest(name: try LockName(uniqueLockName()), ttlMs: 60_000, token: .random(), limit: limit)
                let first = try await engine.acquire(request)
                try await lossy.hangUp(engine, request, losing: .unsent)
                #expect(try await inner.status(of: request.name).holders.map(\.fence) == [first.lease.fence],
                        "a retry the store never saw gave back the lease its client holds")
                try await lossy.hangUp(engine, request, losing: .replyLost)
                #expect(try await inner.status(of: request.name).holders.map(\.fence) == [first.lease.fence],
                        "a retry that found the lease gave it back")
                // Still the client's to renew and release.
                #expect(try await engine.renew(request.name, token: first.lease.token, ttlMs: 60_000).fence == first.lease.fence)
                try await engine.release(request.name, token: first.lease.token)
            }
        }
    }

    /// A request under the client's token is cancelled before the store saw
    /// it, and its give-back fails (an outage: queued). The client asks
    /// again with its token and is granted a fresh lease. The queued
    /// give-back, which runs after, must not end that lease: the cancelled
    /// request was granted nothing.
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aQueuedGiveBackOfACancelledRequestSparesTheLeaseALaterOneDelivered(store: StoreKind, limit: Int) async throws {
        try await store.withEngine { _, inner in
            let lossy = StalledStore(inner, stalls: 0, stall: .zero, releaseFailures: 1)
            try await lossy.withEngine { engine in
                let request = AcquireRequest(name: try LockName(uniqueLockName()), ttlMs: 60_000, token: .random(), limit: limit)
                try await lossy.hangUp(engine, request, losing: .unsent)
                let later = try await engine.acquire(request)
                #expect(!later.isRetry)
                #expect(await lossy.upkeepGivesBack(engine))
                #expect(try await inner.status(of: request.name).holders.map(\.fence) == [later.lease.fence],
                        "a queued give-back of a request the store never saw ended the lease a later request delivered")
            }
        }
    }

    /// The client's first lease expired; its retry was granted a fresh one,
    /// but the caller hung up before the reply came. Nobody holds that
    /// lease (the caller is gone: PRODUCT.md's "no lease is left behind for
    /// a caller that is gone"): it is given back, not left for its TTL.
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aFreshGrantToACancelledRetryIsGivenBack(store: StoreKind, limit: Int) async throws {
        try await store.withEngine { _, inner in
            let lossy = StalledStore(inner, stalls: 0, stall: .zero)
            try await lossy.withEngine { engine in
                let token = LeaseToken.random()
                let name = try LockName(uniqueLockName())
                let first = try await engine.acquire(AcquireRequest(name: name, ttlMs: 300, token: token, limit: limit))
                let firstExpired = try await eventually { try await inner.status(of: name).isHeld == false }
                #expect(firstExpired)
                try await lossy.hangUp(engine, AcquireRequest(name: name, ttlMs: 60_000, token: token, limit: limit), losing: .replyLost)
                let fresh = try #require(lossy.grantsSeen.last)
                #expect(fresh.fence > first.lease.fence)
                #expect(try await inner.status(of: name).isHeld == false, "a grant whose caller hung up was left for its TTL")
            }
        }
    }

    /// The same, but the give-back is queued (an outage), and the client
    /// retries with its token before it runs: it is answered with that
    /// lease (200, same fence) and holds it now. The give-back spares it.
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aFreshGrantToACancelledRetryStaysOnceTheClientRetriedIntoIt(store: StoreKind, limit: Int) async throws {
        try await store.withEngine { _, inner in
            let lossy = StalledStore(inner, stalls: 0, stall: .zero, releaseFailures: 1)
            try await lossy.withEngine { engine in
                let request = AcquireRequest(name: try LockName(uniqueLockName()), ttlMs: 60_000, token: .random(), limit: limit)
                try await lossy.hangUp(engine, request, losing: .replyLost)
                let fresh = try #require(lossy.grantsSeen.last)
                let retried = try await engine.acquire(request)
                #expect(retried.isRetry)
                #expect(retried.lease.fence == fresh.fence)
                #expect(await lossy.upkeepGivesBack(engine))
                #expect(try await inner.status(of: request.name).holders.map(\.fence) == [fresh.fence],
                        "a queued give-back ended the lease the client's retry was answered with")
            }
        }
    }
}
