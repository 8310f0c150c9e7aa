import Foundation
import LockdClient
import LockdTestSupport
import Testing

/// A lease from `tryAcquire`/`acquire` renews itself until released, lost or
/// dropped (DistributedLock's handles, etcd's sessions) — against a lockd
/// process on a real redis-server.
@Suite("Self-renewing leases")
struct SelfRenewalTests {
    @Test("a tryAcquire lease held for three TTLs is still renewed, then releases")
    func heldForThreeTTLs() async throws {
        try await StoreKind.redis.withLockdProcess { lockd, _ in
            let name = uniqueLockName()
            let locks = lockd.client()
            // Renewals every second leave two seconds for a stalled machine.
            let ttl = Duration.seconds(3)
            let lease = try #require(try await locks.tryAcquire(name, ttl: ttl))
            let firstExpiry = lease.expiresAt
            let start = ContinuousClock.now
            // Each check asks lockd, not the lease.
            while ContinuousClock.now - start < ttl * 3 {
                try await Task.sleep(for: ttl / 2)
                #expect(try await locks.status(name).holders.map(\.fence) == [lease.fence])
                #expect(!lease.isLost)
            }
            #expect(lease.expiresAt > firstExpiry.addingTimeInterval(5))
            try await lease.release()
            #expect(try await locks.status(name).isHeld == false)
            #expect(try await lease.waitUntilLost() == false)
        }
    }

    @Test("a lease nobody refers to any more stops renewing and ends at its TTL")
    func droppedLeaseEnds() async throws {
        try await StoreKind.redis.withLockdProcess { lockd, _ in
            let name = uniqueLockName()
            let locks = lockd.client()
            // Only the fence survives this call; the lease is dropped at its end.
            func takeAndForget() async throws -> Int64 {
                try await locks.acquire(name, ttl: .seconds(1), wait: .zero).fence
            }
            let fence = try await takeAndForget()
            #expect(try await locks.status(name).holders.map(\.fence) == [fence])
            let freedAfter = try await timeUntil(within: .seconds(10)) { try await locks.status(name).isHeld == false }
            #expect(freedAfter != nil, "a dropped lease kept the lock")
        }
    }
}
