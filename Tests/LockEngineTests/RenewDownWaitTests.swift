import LockdTestSupport
import LockEngine
import LockdTransport
import Testing

/// A holder that renews its lease *down* (a shorter TTL) brings its expiry
/// forward: a waiter must look again at the new expiry, not at the old one
/// it was told when it queued (an expiry announces nothing).
@Suite struct RenewDownWaitTests {
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aWaiterIsGrantedWhenALeaseRenewedDownExpires(store: StoreKind, limit: Int) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            var holders: [AcquireGrant] = []
            for _ in 0..<limit { holders.append(try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, limit: limit))) }
            let waiter = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000, limit: limit)) }
            #expect(try await eventually { try await engine.status(of: name).waiting == 1 })
            // One holder renews down to 300 ms: the name has room then, long
            // before the old expiry (60 s) or the end of the wait (20 s).
            let started = MonotonicClock.now()
            let renewed = try await engine.renew(name, token: holders[0].lease.token, ttlMs: 300)
            #expect(renewed.fence == holders[0].lease.fence)
            let granted = try await waiter.value
            let waitedMs = (MonotonicClock.now() - started) / 1_000_000
            #expect(granted.lease.fence > holders.map(\.lease.fence).max() ?? 0)
            #expect(waitedMs < 2_000, "the waiter looked again only at the old expiry, or at its next periodic look (5 s)")
        }
    }

    /// On Redis, in either layout, the renewal itself announces the new
    /// time to look again (the engine's test above may also be saved by a
    /// reconcile that happens to read the holders after the renewal).
    @Test(arguments: [1, 3])
    func aRenewalDownAnnouncesWhenTheQueueLooksAgain(limit: Int) async throws {
        try await HandOffTests.Fixture.with { fixture in
            let name = try LockName(uniqueLockName())
            var holders: [AcquireAttempt] = []
            for _ in 0..<limit {
                let holder = AcquireAttempt(name: name, token: .random(), ttlMs: 60_000, owner: nil, waiter: nil, limit: limit)
                guard case .granted = try await fixture.store.acquire(holder) else { throw LockError.leaseLost }
                holders.append(holder)
            }
            let waiter = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "waiter", waiter: .random(limit: limit),
                                        waitMs: 30_000, limit: limit)
            guard case .held = try await fixture.store.acquire(waiter) else { throw LockError.leaseLost }
            let before = fixture.events.wakeups.withLock { $0.count }
            #expect(try await fixture.store.renew(name, token: holders[0].token, ttlMs: 300, durability: .primary) != nil)
            let told = await eventually {
                fixture.events.wakeups.withLock { $0[before...].contains { $0.name == name && ($0.hint.recheckAfterMs ?? .max) <= 300 } }
            }
            #expect(told, "the renewal down announced nothing: the queue looks again at the old expiry")
        }
    }
}
