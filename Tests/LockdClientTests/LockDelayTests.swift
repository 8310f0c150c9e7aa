import LockdTestSupport
import Foundation
import Testing

@testable import LockdClient

@Suite("LockClient: lockDelay")
struct LockDelayTests {
    @Test("a lease that expires with a lockDelay keeps the lock through it; status says until when", arguments: StoreKind.allCases)
    func anExpiredLeaseKeepsTheLockThroughItsDelay(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client()
            let lease = try await locks.acquire(name, ttl: .milliseconds(200), autoRenew: false, lockDelay: .seconds(2))
            let delayEnds = lease.expiresAt.addingTimeInterval(2)
            var status = try await locks.status(name)
            let expired = try await eventually(within: .seconds(10)) {
                status = try await locks.status(name)
                return !status.isHeld
            }
            #expect(expired)
            if Date() < delayEnds.addingTimeInterval(-0.5) {
                #expect(status.delayedUntil.map { abs($0.timeIntervalSince(delayEnds)) < 0.05 } == true, "\(status)")
                #expect(try await locks.tryAcquire(name) == nil)
            }
            let next = try await locks.acquire(name, wait: .seconds(20))
            #expect(Date() >= delayEnds.addingTimeInterval(-0.02))
            try await next.release()
        }
    }
}
