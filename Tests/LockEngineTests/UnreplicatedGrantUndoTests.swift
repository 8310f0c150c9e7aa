import LockdTestSupport
import LockEngine
import Testing

/// `durability: replicated` with no replica to confirm (the Redis fixture
/// has none, so `WAIT` confirms nothing): the store undoes only what the
/// attempt newly granted, by its fence (a retry's found lease stays:
/// ``CancelledRetryReviewTests``).
@Suite struct UnreplicatedGrantUndoTests {
    /// A new grant under a client's own token is undone by the store
    /// itself: the engine gives back nothing on the 503 for a client's
    /// token, so nothing else would end it before its TTL.
    @Test(arguments: [1, 3])
    func aNewGrantUnderTheClientsTokenIsUndone(limit: Int) async throws {
        try await StoreKind.redis.withEngine { engine, inner in
            let name = try LockName(uniqueLockName())
            let request = AcquireRequest(name: name, ttlMs: 60_000, token: .random(), limit: limit, durability: .replicated)
            await #expect(throws: LockError.self) { try await engine.acquire(request) }
            #expect(try await inner.status(of: name).holders.isEmpty, "a grant that could not be replicated was left for its TTL")
            // The name is free for the next client at once.
            _ = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, limit: limit))
        }
    }
}
