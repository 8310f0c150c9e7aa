import LockdTestSupport
import LockEngine
import Testing

/// An administrator's force-release by fence, on every store: it ends
/// exactly that lease, whatever its token, and hands the name on as a
/// release would.
@Suite struct ForceReleaseTests {
    @Test(arguments: StoreKind.allCases)
    func itEndsThatLeaseAndItsHolderFindsItLost(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            await #expect(throws: LockError.notHeld(fence: grant.lease.fence + 1)) {
                try await engine.forceRelease(name, fence: grant.lease.fence + 1)
            }
            #expect(try await engine.status(of: name).holders.map(\.fence) == [grant.lease.fence])

            try await engine.forceRelease(name, fence: grant.lease.fence)
            #expect(try await engine.status(of: name).isHeld == false)
            await #expect(throws: LockError.leaseLost) {
                try await engine.renew(name, token: grant.lease.token, ttlMs: nil)
            }
            await #expect(throws: LockError.leaseLost) {
                try await engine.release(name, token: grant.lease.token)
            }
            await #expect(throws: LockError.notHeld(fence: grant.lease.fence)) {
                try await engine.forceRelease(name, fence: grant.lease.fence)
            }
            let next = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            #expect(next.lease.fence > grant.lease.fence)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anExpiredLeaseIsNotHeld(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            // Acquired with room to spare, then renewed to the shortest TTL: an
            // acquire asking for 100 ms is refused on a busy machine (a grant
            // that comes back with less than a tenth of its TTL left is given
            // back, three times, then 503); a renewal is not, and the lease
            // expires the same way.
            let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            _ = try await engine.renew(name, token: grant.lease.token, ttlMs: 100)
            let expired = try await eventually { try await engine.status(of: name).isHeld == false }
            #expect(expired)
            await #expect(throws: LockError.notHeld(fence: grant.lease.fence)) {
                try await engine.forceRelease(name, fence: grant.lease.fence)
            }
        }
    }

    /// Status and force-release agree at the lease's last millisecond: on
    /// Redis a plain lease's key lives through the millisecond its PTTL
    /// answers 0, so a status that dropped such a holder called the lock
    /// free while a force-release just after still ended the lease (about
    /// one expiry in three when status is asked without pause).
    @Test(arguments: StoreKind.allCases)
    func whatStatusCallsFreeHoldsNoLeaseToEnd(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            for _ in 0..<30 {
                let name = try LockName(uniqueLockName())
                let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
                _ = try await engine.renew(name, token: grant.lease.token, ttlMs: 100)
                // Asked without pause, to be asked in the expiry's very millisecond.
                while try await engine.status(of: name).isHeld {}
                await #expect(throws: LockError.notHeld(fence: grant.lease.fence)) {
                    try await engine.forceRelease(name, fence: grant.lease.fence)
                }
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theNextWaiterIsServed(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let stuck = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            let waiter = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 30_000, owner: "next")) }
            let queued = try await eventually { try await engine.status(of: name).waiting == 1 }
            #expect(queued)
            try await engine.forceRelease(name, fence: stuck.lease.fence)
            let served = try await waiter.value
            #expect(served.lease.owner == "next")
            #expect(served.lease.fence > stuck.lease.fence)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func amongSeveralHoldersOnlyThatOneEnds(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            for mode in [LockMode.exclusive, .shared] {
                let name = try LockName(uniqueLockName())
                let limit = mode == .exclusive ? 3 : 1
                var grants: [AcquireGrant] = []
                for _ in 0..<3 {
                    grants.append(try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, limit: limit, mode: mode)))
                }
                try await engine.forceRelease(name, fence: grants[1].lease.fence)
                let fences = try await engine.status(of: name).holders.map(\.fence)
                #expect(Set(fences) == [grants[0].lease.fence, grants[2].lease.fence], "\(mode)")
                _ = try await engine.renew(name, token: grants[0].lease.token, ttlMs: nil)
                await #expect(throws: LockError.leaseLost) {
                    try await engine.renew(name, token: grants[1].lease.token, ttlMs: nil)
                }
                // The freed slot is a semaphore's to give again.
                if mode == .exclusive {
                    let again = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, limit: 3))
                    #expect(again.lease.fence > grants[2].lease.fence)
                }
            }
        }
    }
}
