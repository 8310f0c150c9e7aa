import Foundation
import LockdClient
import LockdTestSupport
import Synchronization
import Testing

/// `acquire` without a wait waits until granted or cancelled (C#'s `AcquireAsync`,
/// etcd's `Lock(ctx)`), and a wait longer than lockd's `--max-wait-ms` is served
/// by asking again — against a lockd process whose `--max-wait-ms` is 1 s.
@Suite("Blocking acquire and waits beyond --max-wait-ms")
struct BlockingAcquireTests {
    static let maxWait = Duration.seconds(1)
    static let arguments = ["--max-wait-ms", "1000"]

    @Test("acquire without a wait blocks, across lockd's max wait, until the holder releases")
    func blocksUntilReleased() async throws {
        try await StoreKind.redis.withLockdProcess(arguments: Self.arguments) { lockd, _ in
            let name = uniqueLockName()
            let holder = try await lockd.client(owner: "holder").acquire(name, wait: .zero)
            let returned = Mutex(false)
            let waiter = Task {
                defer { returned.withLock { $0 = true } }
                return try await lockd.client(owner: "waiter").acquire(name)
            }
            let queued = await eventually(within: .seconds(10)) { (try? await lockd.waiters()) == 1 }
            #expect(queued, "the waiter never queued")
            // Past two of lockd's max waits: the waiter asked again, and is still waiting.
            try await Task.sleep(for: Self.maxWait * 2.5)
            #expect(!returned.withLock { $0 }, "acquire returned while the lock was held")
            #expect(try await lockd.waiters() == 1)

            try await holder.release()
            let lease = try await waiter.value
            #expect(lease.fence > holder.fence)
            #expect(try await lockd.client().status(name).holders.map(\.fence) == [lease.fence])
            try await lease.release()
        }
    }

    @Test("a cancelled acquire without a wait returns promptly and leaves nothing queued or held")
    func cancelledReturnsPromptly() async throws {
        try await StoreKind.redis.withLockdProcess(arguments: Self.arguments) { lockd, _ in
            let name = uniqueLockName()
            let locks = lockd.client()
            let holder = try await locks.acquire(name, wait: .zero)
            let waiter = Task { try await locks.acquire(name) }
            let queued = await eventually(within: .seconds(10)) { (try? await lockd.waiters()) == 1 }
            #expect(queued, "the waiter never queued")

            let cancelledAt = ContinuousClock.now
            waiter.cancel()
            await #expect(throws: CancellationError.self) { _ = try await waiter.value }
            #expect(ContinuousClock.now - cancelledAt < .seconds(5))
            let drained = await eventually(within: .seconds(5)) { (try? await lockd.waiters()) == 0 }
            #expect(drained, "the waiter stayed queued")

            // Nothing of the waiter's is left: the holder still holds, and after its
            // release the lock is free, not handed to a caller that is gone.
            #expect(try await locks.status(name).holders.map(\.fence) == [holder.fence])
            try await holder.release()
            #expect(try await locks.status(name).isHeld == false)
            let next = try #require(try await locks.tryAcquire(name))
            #expect(next.fence > holder.fence)
            try await next.release()
        }
    }

    @Test("a wait of three times lockd's max wait ends held; a wait beyond it is granted when the holder lets go after its first request ran out")
    func waitBeyondTheServersMaximum() async throws {
        try await StoreKind.redis.withLockdProcess(arguments: Self.arguments) { lockd, _ in
            let (kept, released) = (uniqueLockName(), uniqueLockName())
            let locks = lockd.client()
            let keptHolder = try await locks.acquire(kept, wait: .zero)
            let releasedHolder = try await locks.acquire(released, wait: .zero)

            // A wait so long that the release below, however late a busy
            // machine makes it, comes within it: the waiter must still be
            // waiting then (a release timed against a short wait was lost
            // when the test was held up for as long as the wait had left).
            async let granted = locks.tryAcquire(released, wait: Self.maxWait * 30)
            // Its first request ran out at lockd (409 after the max wait): it asks again.
            let timedOut = await eventually(within: .seconds(30)) { (try? await lockd.acquires("timed_out")) ?? 0 >= 1 }
            #expect(timedOut,
                    "the waiter's first request never ran out")
            let wait = Self.maxWait * 3
            let start = ContinuousClock.now
            async let nothing = locks.tryAcquire(kept, wait: wait)
            try await releasedHolder.release()

            let lease = try #require(try await granted, "the waiter was not granted the released lock")
            #expect(lease.fence > releasedHolder.fence)
            #expect(try await nothing == nil)
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= wait, "gave up after \(elapsed) of a \(wait) wait")
            #expect(elapsed < wait + .seconds(5))
            try await lease.release()
            try await keptHolder.release()
        }
    }
}
