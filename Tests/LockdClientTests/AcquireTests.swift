import LockdTestSupport
import Foundation
import LockdClient
import Testing

@Suite("LockClient: acquire, renew, release")
struct AcquireTests {
    @Test("tryAcquire grants a lease, then nil while it is held", arguments: StoreKind.allCases)
    func tryAcquireGrantsThenNil(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let before = Date()
            let lease = try #require(try await lockd.client(owner: "worker-1").tryAcquire(name, ttl: .seconds(60)))
            #expect(lease.name == name)
            #expect(lease.fence >= 1)
            #expect(lease.token.count >= 22)
            #expect(lease.owner == "worker-1")
            #expect(lease.ttl == .seconds(60))
            #expect(lease.expiresAt > before.addingTimeInterval(50))
            #expect(lease.expiresAt < Date().addingTimeInterval(61))
            #expect(!lease.isLost)

            let second = try await lockd.client(owner: "worker-2").tryAcquire(name, ttl: .seconds(20))
            #expect(second == nil)
            try await lease.release()
        }
    }

    @Test("acquire throws held with the holder and Retry-After", arguments: StoreKind.allCases)
    func acquireThrowsHeld(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let lease = try await lockd.client(owner: "worker-1").acquire(name, ttl: .seconds(30))
            do {
                _ = try await lockd.client(owner: "worker-2").acquire(name, ttl: .seconds(30), wait: .zero)
                Issue.record("a held lock was granted twice")
            } catch LockError.held(let holders, let retryAfter) {
                #expect(holders.count == 1)
                #expect(holders.first?.fence == lease.fence)
                #expect(holders.first?.owner == "worker-1")
                #expect(retryAfter >= .seconds(1) && retryAfter <= .seconds(30))
            }
            try await lease.release()
        }
    }

    @Test("fences grow across release and re-acquire", arguments: StoreKind.allCases)
    func fencesGrow(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client()
            var last: Int64 = 0
            for _ in 0..<5 {
                let lease = try await locks.acquire(name, ttl: .seconds(5))
                #expect(lease.fence > last)
                last = lease.fence
                try await lease.release()
            }
        }
    }

    @Test("renew extends the lease: same token and fence, later expiry, new TTL", arguments: StoreKind.allCases)
    func renewExtends(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let lease = try await lockd.client().acquire(uniqueLockName(), ttl: .seconds(20))
            let (fence, token, firstExpiry) = (lease.fence, lease.token, lease.expiresAt)
            try await lease.renew(ttl: .seconds(120))
            #expect(lease.fence == fence)
            #expect(lease.token == token)
            #expect(lease.ttl == .seconds(120))
            #expect(lease.expiresAt > firstExpiry.addingTimeInterval(90))
            try await lease.renew()  // keeps the 120 s TTL
            #expect(lease.ttl == .seconds(120))
            try await lease.release()
        }
    }

    @Test("release frees the lock; releasing again does nothing; renewing a released lease is lost", arguments: StoreKind.allCases)
    func releaseFrees(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client()
            let lease = try await locks.acquire(name, ttl: .seconds(30))
            try await lease.release()
            #expect(try await locks.status(name).isHeld == false)
            try await lease.release()
            await #expect(throws: LockError.self) { try await lease.renew() }
            let next = try #require(try await locks.tryAcquire(name))
            #expect(next.fence > lease.fence)
            try await next.release()
        }
    }

    @Test("a lease that is not renewed (autoRenew: false) is lost at its TTL: renew and release say so", arguments: StoreKind.allCases)
    func expiredLeaseIsLost(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let start = ContinuousClock.now
            let lease = try await lockd.client().acquire(uniqueLockName(), ttl: .milliseconds(200), autoRenew: false)
            #expect(try await lease.waitUntilLost())
            #expect(ContinuousClock.now - start >= .milliseconds(200))
            #expect(lease.isLost)
            await #expect { try await lease.renew() } throws: { error in
                if case LockError.leaseLost = error { true } else { false }
            }
            await #expect { try await lease.release() } throws: { error in
                if case LockError.leaseLost = error { true } else { false }
            }
        }
    }

    @Test("release of a lease deleted behind its back throws leaseLost and marks it lost", arguments: StoreKind.allCases)
    func releaseAfterDeletion(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let lease = try await lockd.client().acquire(name, ttl: .seconds(30))
            try await lockd.releaseBehindTheBack(name, token: lease.token)
            await #expect { try await lease.release() } throws: { error in
                if case LockError.leaseLost = error { true } else { false }
            }
            #expect(lease.isLost)
        }
    }

    @Test("a waiting acquire on a free lock is granted at once", arguments: StoreKind.allCases)
    func waitingAcquireOnFreeLock(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let start = ContinuousClock.now
            let lease = try #require(try await lockd.client().tryAcquire(uniqueLockName(), ttl: .seconds(30), wait: .seconds(30)))
            #expect(ContinuousClock.now - start < .seconds(10))
            try await lease.release()
        }
    }

    @Test("a waiting acquire is granted when the holder releases", arguments: StoreKind.allCases)
    func waitingAcquireGranted(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let holder = try await lockd.client().acquire(name, ttl: .seconds(30))
            async let waited = lockd.client().tryAcquire(name, ttl: .seconds(30), wait: .seconds(30))
            try await lockd.untilQueued(1, on: name)
            let releasedAt = ContinuousClock.now
            try await holder.release()
            let lease = try #require(try await waited)
            #expect(lease.fence > holder.fence)
            #expect(ContinuousClock.now - releasedAt < .seconds(10))
            try await lease.release()
        }
    }

    @Test("a waiting acquire that times out returns nil", arguments: StoreKind.allCases)
    func waitingAcquireTimesOut(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let holder = try await lockd.client().acquire(name, ttl: .seconds(30))
            let start = ContinuousClock.now
            let lease = try await lockd.client().tryAcquire(name, wait: .milliseconds(400))
            #expect(lease == nil)
            #expect(ContinuousClock.now - start >= .milliseconds(350))
            try await holder.release()
        }
    }

    @Test("lockd's validation comes back as invalidRequest with its detail", arguments: StoreKind.allCases)
    func serverValidation(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            await #expect { _ = try await lockd.client().acquire(uniqueLockName(), ttl: .milliseconds(5)) } throws: { error in
                guard case LockError.invalidRequest(let detail) = error else { return false }
                return detail.contains("ttl_ms")
            }
            let tooLongOwner = LockClient(serverURL: lockd.url, owner: String(repeating: "o", count: 300))
            await #expect { _ = try await tooLongOwner.acquire(uniqueLockName()) } throws: { error in
                guard case LockError.invalidRequest(let detail) = error else { return false }
                return detail.contains("owner")
            }
        }
    }
}
