import LockdTestSupport
import LockEngine
import LockdTransport
import Testing

/// What keeps a queue moving when nothing announces a change: a lease that
/// expires behind several waiters, a stray queue entry; every store.
@Suite struct QueueUpkeepTests {
    @Test(arguments: StoreKind.allCases)
    func anExpiryHandsTheLockToTheNextOfSeveralWaiters(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let holder = try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000))
            let first = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 600, waitMs: 20_000, owner: "first")) }
            let queued = await eventually { engine.waiterCount == 1 }
            #expect(queued)
            let second = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000, owner: "second")) }
            let allQueued = await eventually { engine.waiterCount == 2 }
            #expect(allQueued)
            try await engine.release(name, token: holder.lease.token)
            // `first` never releases: its lease expires, and nothing announces that.
            let firstGrant = try await first.value
            let secondGrant = try await second.value
            let expiredToGranted = secondGrant.lease.expiresAtMs - secondGrant.lease.ttlMs - firstGrant.lease.expiresAtMs
            #expect(firstGrant.lease.owner == "first")
            #expect(secondGrant.lease.fence > firstGrant.lease.fence)
            // Store clock, so no scheduling skew on the grant itself; loose
            // for a busy machine (the tight figure is a benchmark's).
            #expect(expiredToGranted >= 0)
            #expect(expiredToGranted < 1_000, "granted \(expiredToGranted) ms after the expiry")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aStrayEntryOfThisProcessIsDroppedWhenItReachesTheHead(store: StoreKind) async throws {
        try await store.withEngine { engine, lockStore in
            let name = try LockName(uniqueLockName())
            let holder = try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000))
            // An entry of this process that no waiting acquire owns, as when a
            // waiter is put back just as it was granted.
            let stray = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: .random(), waitMs: 30_000)
            guard case .held = try await lockStore.acquire(stray) else {
                Issue.record("the stray entry was granted")
                return
            }
            let waiter = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000, owner: "waiter")) }
            // Queued behind the stray entry.
            try await engine.untilQueued(2, on: name)
            let released = ContinuousClock.now
            try await engine.release(name, token: holder.lease.token)
            let grant = try await waiter.value
            #expect(grant.lease.owner == "waiter")
            #expect(ContinuousClock.now - released < .seconds(3), "granted \(ContinuousClock.now - released) after the release")
        }
    }
}
