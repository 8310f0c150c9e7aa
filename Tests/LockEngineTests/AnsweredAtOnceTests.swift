import LockdTestSupport
import LockEngine
import Testing

/// A store whose operations never wait (the in-memory one) answers a
/// request that does not wait at once, without a task; a waiting request,
/// and every request on Redis, is left to the async path. Both paths see
/// one lock.
@Suite struct AnsweredAtOnceTests {
    @Test(arguments: StoreKind.allCases)
    func onlyTheInMemoryStoreAnswersAtOnceAndOnlyRequestsThatDoNotWait(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            #expect(engine.answersAtOnce == (store == .memory))
            #expect(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 5_000, waitMs: 1_000)) == nil)
            guard store == .memory else {
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
        }
    }
}
