import LockdTestSupport
import LockdTransport
@testable import LockdClient
import Testing

/// `withLock` runs its own steps on the transport's event loop for a nonisolated
/// caller, but the body where the caller's code would run: never on that loop
/// unless the caller asked for it.
@Suite("LockClient.withLock: where the body runs")
struct WithLockExecutorTests {
    @Test("a nonisolated caller's body runs off the SDK's event loop; a caller's executor preference is kept")
    func bodyRunsWhereTheCallerWould() async throws {
        try await StoreKind.memory.withLockd { lockd async throws in
            let locks = lockd.client()
            let loop = try #require(locks.remote.executor)
            let name = uniqueLockName()
            let onLoop = try await locks.withLock(name) { _ in loop.inEventLoop }
            #expect(!onLoop)
            let onLoopByPreference = try await withTaskExecutorPreference(loop) {
                try await locks.withLock(name) { _ in loop.inEventLoop }
            }
            #expect(onLoopByPreference)
            #expect(try await locks.status(name).isHeld == false)
        }
    }

    @Test("an actor-isolated caller's body runs on its actor, off the SDK's event loop")
    func bodyRunsOnTheCallersActor() async throws {
        try await StoreKind.memory.withLockd { lockd async throws in
            let locks = lockd.client()
            let loop = try #require(locks.remote.executor)
            let counter = Counter()
            let onLoop = try await counter.incrementUnderLock(locks, uniqueLockName(), loop: loop)
            #expect(!onLoop)
            #expect(await counter.value == 1)
        }
    }

    actor Counter {
        var value = 0

        func incrementUnderLock(_ locks: LockClient, _ name: String, loop: EventLoop) async throws -> Bool {
            try await locks.withLock(name) { _ in
                assertIsolated()
                value += 1
                return loop.inEventLoop
            }
        }
    }
}
