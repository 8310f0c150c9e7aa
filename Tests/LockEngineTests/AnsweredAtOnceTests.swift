import LockdTestSupport
import LockEngine
import Testing

/// A store whose operations never wait (the in-memory one) answers at once,
/// without a task, every acquire the name admits now (a request that may
/// wait included) and every release; a waiting request that must queue, and
/// every request on Redis, is left to the async path. Both paths see one
/// lock, and the queue is never jumped.
@Suite struct AnsweredAtOnceTests {
    @Test(arguments: StoreKind.allCases)
    func onlyTheInMemoryStoreAnswersAtOnceAndOnlyWhatNeedsNoWait(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            #expect(engine.answersAtOnce == (store == .memory))
            guard store == .memory else {
                #expect(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 5_000, waitMs: 1_000)) == nil)
                #expect(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 5_000)) == nil)
                #expect(try engine.releaseAtOnce(name, token: LeaseToken.random()) == false)
                #expect(try await engine.status(of: name).holders.isEmpty, "nothing was taken on the way")
                return
            }
            let grant = try #require(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 5_000, owner: "at-once")))
            #expect(!grant.isRetry)
            #expect(try await engine.status(of: name).holders.map(\.owner) == ["at-once"])
            let held = await #expect(throws: LockError.self) { try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000)) }
            guard case .lockHeld(let holders, _) = held else {
                Issue.record("expected lockHeld, got \(String(describing: held))")
                return
            }
            #expect(holders.map(\.fence) == [grant.lease.fence])
            #expect(throws: LockError.leaseLost) { try engine.releaseAtOnce(name, token: LeaseToken.random()) }
            #expect(try engine.releaseAtOnce(name, token: grant.lease.token))
            let next = try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000))
            #expect(next.lease.fence > grant.lease.fence)
            // Held: a request that may wait is left to the waiting path, and
            // queues there; a later one that may wait does not pass it.
            #expect(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 5_000, waitMs: 10_000)) == nil)
            let queued = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000, waitMs: 10_000, owner: "queued")) }
            let queuedAgain = await eventually { engine.waiterCount == 1 }
            #expect(queuedAgain)
            #expect(try engine.releaseAtOnce(name, token: next.lease.token))
            let handed = try await queued.value
            #expect(handed.lease.owner == "queued")
            #expect(try engine.releaseAtOnce(name, token: handed.lease.token))
            // Free: a request that may wait is granted at once.
            let free = try #require(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 5_000, waitMs: 1_000, owner: "free")))
            #expect(free.lease.fence > handed.lease.fence)
        }
    }
}
