import LockEngine
import LockdTestSupport
import Testing

/// review4 (for wip-sem12's hand-over change): two waiting acquires under one
/// client token (a client that asked again, on another lockd, while its first
/// request still waited) on a semaphore. The first is handed a slot; when
/// the next slot frees, the second must not be handed a second one under the
/// same token — that would overwrite the lease's fence, and the fence the
/// first was answered with would no longer be live. It is answered with the
/// lease the token holds: the same fence.
@Suite struct SameTokenHandOffReviewTests {
    @Test(arguments: StoreKind.allCases)
    func aTokenHandedOneSlotIsNotHandedASecond(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let first = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, limit: 2))
            let second = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, limit: 2))
            let token = LeaseToken.random()
            let request = AcquireRequest(name: name, ttlMs: 60_000, waitMs: 30_000, token: token, limit: 2)
            let one = Task { try await engine.acquireByWaiting(request) }
            let queuedOne = try await eventually { try await engine.status(of: name).waiting == 1 }
            #expect(queuedOne)
            let two = Task { try await engine.acquireByWaiting(request) }
            defer { one.cancel(); two.cancel() }
            let queuedTwo = try await eventually { try await engine.status(of: name).waiting == 2 }
            #expect(queuedTwo)

            try await engine.release(name, token: first.lease.token)
            let granted = try await one.value
            try await engine.release(name, token: second.lease.token)
            let again = try await two.value
            #expect(again.lease.fence == granted.lease.fence, "one token was handed two slots (fences \(granted.lease.fence), \(again.lease.fence))")
            let holders = try await engine.status(of: name).holders.map(\.fence)
            #expect(holders == [granted.lease.fence], "holders \(holders)")
            let live = try? await engine.holder(of: name, fence: granted.lease.fence)
            #expect(live != nil, "the fence the first request was answered with is no longer live")
        }
    }
}
