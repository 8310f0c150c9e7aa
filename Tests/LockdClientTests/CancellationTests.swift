import LockdTestSupport
import Foundation
import LockdClient
import Testing

@Suite("Cancellation")
struct CancellationTests {
    @Test("a cancelled waiting acquire returns at once and leaves no lease behind", arguments: StoreKind.allCases)
    func cancelledWaitLeavesNothing(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client()
            let holder = try await locks.acquire(name, ttl: .seconds(30))
            let waiter = Task { try await locks.tryAcquire(name, ttl: .seconds(30), wait: .seconds(20)) }
            try await lockd.untilQueued(1, on: name)
            let cancelledAt = ContinuousClock.now
            waiter.cancel()
            await #expect(throws: CancellationError.self) { _ = try await waiter.value }
            #expect(ContinuousClock.now - cancelledAt < .seconds(10))  // the wait was 20 s

            // lockd noticed the hang-up and dropped the waiter…
            #expect(await timeUntil(within: .seconds(5)) { lockd.engine.waiterCount == 0 } != nil)
            // …so the release hands the lock to no one.
            try await holder.release()
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await locks.status(name).isHeld == false)
            let next = try #require(try await locks.tryAcquire(name, ttl: .seconds(5)))
            try await next.release()
        }
    }

    @Test("a cancelled withLock that is still waiting never runs its body", arguments: StoreKind.allCases)
    func cancelledWithLockWhileWaiting(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client()
            let holder = try await locks.acquire(name, ttl: .seconds(30))
            let waiter = Task {
                try await locks.withLock(name, ttl: .seconds(30), wait: .seconds(20)) { _ in
                    Issue.record("the body ran after cancellation")
                }
            }
            try await lockd.untilQueued(1, on: name)
            waiter.cancel()
            await #expect(throws: CancellationError.self) { try await waiter.value }
            #expect(await timeUntil(within: .seconds(5)) { lockd.engine.waiterCount == 0 } != nil)
            try await holder.release()
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await locks.status(name).isHeld == false)
        }
    }
}
