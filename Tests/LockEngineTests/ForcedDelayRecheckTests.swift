import LockdTestSupport
import LockEngine
import Testing

/// An administrator's force-release of a lease with a lock delay keeps its
/// slot for the delay, and tells the queue: a holder that expired meanwhile
/// (its slot not swept yet: nothing touched the name since) must neither
/// hide the delay's end nor keep its free slot from the queue's head.
/// Redis only: the in-memory store drops expired slots as it ends a lease.
@Suite struct ForcedDelayRecheckTests {
    @Test func aForcedReleaseWithALockDelayHandsAnExpiredHoldersSlotToTheWaiter() async throws {
        try await HandOffTests.Fixture.with { fixture in
            let name = try LockName(uniqueLockName())
            // A semaphore of 2: one lease expires soon, the other has a lock delay.
            let brief = AcquireAttempt(name: name, token: .random(), ttlMs: 300, owner: "brief", waiter: nil, limit: 2)
            var delayed = AcquireAttempt(name: name, token: .random(), ttlMs: 60_000, owner: "delayed", waiter: nil, limit: 2)
            delayed.lockDelayMs = 5_000
            guard case .granted = try await fixture.store.acquire(brief),
                  case .granted(let held, _, _) = try await fixture.store.acquire(delayed)
            else { throw LockError.leaseLost }
            let waiterID = WaiterID.random(limit: 2)
            let waiter = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "waiter", waiter: waiterID,
                                        waitMs: 30_000, limit: 2)
            guard case .held = try await fixture.store.acquire(waiter) else { throw LockError.leaseLost }
            try await fixture.keepBeating(name)
            // The brief lease expires; nothing sweeps it (an inspect only reads).
            let briefExpired = try await eventually { try await fixture.store.status(of: name).holders.count == 1 }
            #expect(briefExpired)
            #expect(try await fixture.store.forceRelease(name, fence: held.fence) == delayed.token)
            // Its slot is free: the waiter is handed it (or woken to take it).
            let served = await eventually {
                fixture.events.wakeups.withLock { wakeups in
                    wakeups.contains { $0.name == name && ($0.hint.wake.contains(waiterID) || $0.hint.granted.contains { $0.waiter == waiterID }) }
                }
            }
            #expect(served, "the waiter was not told of the free slot: \(fixture.events.wakeups.withLock { $0.filter { $0.name == name } })")
        }
    }

    /// The same with readers and a waiting writer, which needs every slot:
    /// nothing can be handed over, so the writer must look again when the
    /// forced lease's delay ends — not be told there is nothing to watch.
    @Test func aForcedReleaseWithALockDelayHasTheWaiterLookAgainWhenTheDelayEnds() async throws {
        try await HandOffTests.Fixture.with { fixture in
            let name = try LockName(uniqueLockName())
            // Readers: one expires soon, the other has a lock delay; a writer waits for both.
            let brief = AcquireAttempt(name: name, token: .random(), ttlMs: 300, owner: "brief", waiter: nil, mode: .shared)
            var delayed = AcquireAttempt(name: name, token: .random(), ttlMs: 60_000, owner: "delayed", waiter: nil, mode: .shared)
            delayed.lockDelayMs = 5_000
            guard case .granted = try await fixture.store.acquire(brief),
                  case .granted(let held, _, _) = try await fixture.store.acquire(delayed)
            else { throw LockError.leaseLost }
            let waiterID = WaiterID.random()
            let writer = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "writer", waiter: waiterID, waitMs: 30_000)
            guard case .held = try await fixture.store.acquire(writer) else { throw LockError.leaseLost }
            try await fixture.keepBeating(name)
            let briefExpired = try await eventually { try await fixture.store.status(of: name).holders.count == 1 }
            #expect(briefExpired)
            let before = fixture.events.wakeups.withLock { $0.count }
            #expect(try await fixture.store.forceRelease(name, fence: held.fence) == delayed.token)
            let woken = await eventually { fixture.events.wakeups.withLock { $0.count > before } }
            #expect(woken)
            let told = fixture.events.wakeups.withLock { Array($0[before...]).filter { $0.name == name } }
            let recheck = try #require(told.last?.hint.recheckAfterMs, "the writer was told there is nothing to watch")
            #expect((1...5_000).contains(recheck))
        }
    }
}
