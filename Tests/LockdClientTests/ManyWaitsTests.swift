import Foundation
import LockdClient
import LockdTestSupport
import Testing

/// Each waiting acquire holds a connection for as long as it waits; renewals go
/// over connections of their own, so they never queue behind the waits.
@Suite("Renewals beside many long waits on one client")
struct ManyWaitsTests {
    @Test("200 concurrent long waits on one client while a lease of the same client renews on time")
    func renewalsDoNotQueueBehindWaits() async throws {
        try await StoreKind.redis.withLockdProcess { lockd, _ in
            let locks = lockd.client()
            let contended = uniqueLockName()
            let blocker = try await lockd.client(owner: "blocker").acquire(contended, ttl: .seconds(60), wait: .zero)
            // Renewals every third of the TTL; the lease is lost only if renewals wait
            // two thirds of it for a connection — never, unless they queue behind the
            // 50 s waits. (5 s, not less: a busy machine can hold a renewal up a second.)
            let ttl = Duration.seconds(5)
            let lease = try await locks.acquire(uniqueLockName(), ttl: ttl, wait: .zero)

            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        do {
                            _ = try await locks.tryAcquire(contended, wait: .seconds(50))
                            Issue.record("a waiter was granted a lock that stayed held")
                        } catch is CancellationError {
                            // How this test ends them.
                        }
                    }
                }
                let allQueued = await eventually(within: .seconds(30)) { (try? await lockd.waiters()) == 200 }
                try #require(allQueued, "the waits did not all queue")
                #expect(!lease.isLost)

                // Three renewals come back with every wait open, however slow the
                // machine: waited for, not counted in a fixed window (their schedule,
                // a third of the TTL, is LeaseStateTests'). Renewals queued behind the
                // 50 s waits would not come back, and the lease would be lost.
                var renewals = 0
                var lastExpiry = lease.expiresAt
                let renewedThrice = await eventually(within: .seconds(15), every: .milliseconds(50)) {
                    if lease.expiresAt > lastExpiry {
                        renewals += 1
                        lastExpiry = lease.expiresAt
                    }
                    return renewals >= 3 || lease.isLost
                }
                #expect(!lease.isLost)
                #expect(renewedThrice, "only \(renewals) renewals in 15 s")
                #expect(try await lockd.waiters() == 200)
                group.cancelAll()
                try await group.waitForAll()
            }
            let drained = await eventually(within: .seconds(10)) { (try? await lockd.waiters()) == 0 }
            #expect(drained, "cancelled waits stayed queued")
            try await lease.release()
            try await blocker.release()
            // A release may hand the name to a queued waiter whose leaving is
            // still on its way to the store; that leaving gives the grant back.
            let released = await eventually(within: .seconds(5)) { (try? await locks.status(contended).isHeld) == false }
            #expect(released,
                    "a lease was left behind for a cancelled wait")
        }
    }
}
