import Foundation
import LockdClient
import LockdTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A rolling deploy of lockd must not surface in app code: lockd is stopped with
/// SIGTERM (its waiters are answered 503) and started again on the same port
/// while a caller waits, holds a lease, or tries once. Redis keeps the leases
/// across the restart, so this runs on the Redis store.
@Suite("lockd restarted under the SDK's feet")
struct RestartTests {
    @Test("a restart in the middle of a wait: the waiter queues again and is granted; the holder keeps its lease")
    func restartDuringAWait() async throws {
        try await StoreKind.redis.withLockdProcess { first, redis in
            let redis = try #require(redis)
            let name = uniqueLockName()
            let holder = try await first.client(owner: "holder").acquire(name, ttl: .seconds(10), wait: .zero)
            let waiting = Task { try await first.client(owner: "waiter").acquire(name, wait: .seconds(60)) }
            let queued = await eventually(within: .seconds(10)) { (try? await first.waiters()) == 1 }
            #expect(queued, "the waiter never queued")

            let (second, outage) = try await first.restart(redis.lockdArguments())
            let queuedAgain = await eventually(within: .seconds(10)) { (try? await second.waiters()) == 1 }
            #expect(queuedAgain,
                    "the waiter did not queue at the restarted lockd (outage \(outage))")

            try await holder.release()
            let lease = try await waiting.value
            #expect(lease.fence > holder.fence)
            #expect(!holder.isLost)
            try await lease.release()
            await second.stop()
        }
    }

    @Test("a try sent while lockd is down is answered once it is back")
    func tryDuringTheOutage() async throws {
        try await StoreKind.redis.withLockdProcess { first, redis in
            let redis = try #require(redis)
            let locks = first.client()
            await offThePool { first.process.terminate(with: SIGTERM) }
            let trying = Task { try await locks.tryAcquire(uniqueLockName(), ttl: .seconds(10)) }
            let second = try await LockdProcess.start(redis.lockdArguments(), listen: "\(first.host):\(first.port)")
            let lease = try #require(try await trying.value, "the try was not granted after the restart")
            try await lease.release()
            await second.stop()
        }
    }

    @Test("a restart in the middle of a withLock body: renewals ride it out, the body is not cancelled, the lock is released")
    func restartDuringWithLock() async throws {
        try await StoreKind.redis.withLockdProcess { first, redis in
            let redis = try #require(redis)
            let name = uniqueLockName()
            let locks = first.client()
            // Renewals every 3 s leave 6 s for the restart on a busy machine.
            let ttl = Duration.seconds(9)
            var restarted: LockdProcess?
            let fence = try await locks.withLock(name, ttl: ttl) { lease in
                let (second, _) = try await first.restart(redis.lockdArguments())
                restarted = second
                let before = lease.expiresAt
                // A renewal through the new lockd.
                let renewed = await eventually(within: ttl) { lease.expiresAt > before && !Task.isCancelled }
                #expect(renewed)
                #expect(!lease.isLost)
                #expect(!Task.isCancelled)
                return lease.fence
            }
            let second = try #require(restarted)
            let status = try await second.client().status(name)
            #expect(status.isHeld == false, "withLock did not release (fence \(fence))")
            await second.stop()
        }
    }
}
