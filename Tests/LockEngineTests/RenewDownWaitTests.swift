import LockdTestSupport
import LockEngine
import Testing

/// A holder that renews its lease *down* (a shorter TTL) brings its expiry
/// forward: a waiter must look again at the new expiry, not at the old one
/// it was told when it queued (an expiry announces nothing).
@Suite struct RenewDownWaitTests {
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aWaiterIsGrantedWhenALeaseRenewedDownExpires(store: StoreKind, limit: Int) async throws {
        try await Self.aWaiterIsGrantedWhenAHolderEndsSooner(store: store, limit: limit) { engine, holder in
            let renewed = try await engine.renew(holder.name, token: holder.token, ttlMs: 300)
            #expect(renewed.fence == holder.fence)
        }
    }

    /// On Redis, in either layout, the renewal itself announces the new
    /// time to look again (the engine's test above may also be saved by a
    /// reconcile that happens to read the holders after the renewal).
    @Test(arguments: [1, 3])
    func aRenewalDownAnnouncesWhenTheQueueLooksAgain(limit: Int) async throws {
        try await Self.aHolderEndingSoonerAnnounces(limit: limit) { store, holder in
            let renewed = try await store.renew(holder.name, token: holder.token, ttlMs: 300, durability: .primary)
            #expect(renewed != nil)
        }
    }

    /// A waiter queues behind `limit` holders (120 s leases); `endSooner`
    /// brings the first holder's end forward to 300 ms. The waiter must be
    /// granted then — told so — and not at a look of its own: the first
    /// expiry it was told (120 s), the periodic queue check (set to 120 s)
    /// and the end of its wait (60 s) all come long after the test gives up.
    static func aWaiterIsGrantedWhenAHolderEndsSooner(
        store: StoreKind, limit: Int, _ endSooner: (LockEngine, Lease) async throws -> Void
    ) async throws {
        var configuration = LockEngineConfiguration()
        configuration.queueCheckInterval = .seconds(120)
        try await store.withEngine(configuration: configuration) { engine, _ in
            let name = try LockName(uniqueLockName())
            var holders: [AcquireGrant] = []
            for _ in 0..<limit {
                holders.append(try await engine.acquire(AcquireRequest(name: name, ttlMs: 120_000, token: .random(), limit: limit)))
            }
            let waiter = Task {
                try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 60_000, owner: "waiter", limit: limit))
            }
            defer { waiter.cancel() }
            let queued = try await eventually { try await engine.status(of: name).waiting == 1 }
            #expect(queued)
            try await endSooner(engine, holders[0].lease)
            let told = try await eventually(within: .seconds(10)) {
                try await engine.status(of: name).holders.contains { $0.owner == "waiter" }
            }
            #expect(told, "the waiter was not told: it would look again only at the old expiry, its wait's end or a periodic check")
            guard told else { return }
            #expect(try await waiter.value.lease.fence > holders.map(\.lease.fence).max() ?? 0)
        }
    }

    /// On Redis, in either layout: `endSooner` brings a holder's end forward
    /// to 300 ms, and itself announces that the queue looks again by then.
    static func aHolderEndingSoonerAnnounces(limit: Int, _ endSooner: (RedisLockStore, AcquireAttempt) async throws -> Void) async throws {
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
            try await endSooner(fixture.store, holders[0])
            let told = await eventually {
                fixture.events.wakeups.withLock { $0[before...].contains { $0.name == name && ($0.hint.recheckAfterMs ?? .max) <= 300 } }
            }
            #expect(told, "nothing was announced: the queue looks again at the old expiry")
        }
    }
}
