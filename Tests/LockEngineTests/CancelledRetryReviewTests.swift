import LockdTestSupport
import LockEngine
import Testing

/// review3, session 13: a client holds a lease under its own token (granted
/// and delivered, never asked for again). It retries its acquire with that
/// token and hangs up before the retry is answered. Whatever lockd gives back
/// for the cancelled retry must not end the lease the client holds.
@Suite struct CancelledRetryReviewTests {
    /// Each case: store, wait_ms of the retry, limit (1: the plain lease's
    /// layout; 3: the holders' layout).
    @Test(arguments: [
        (StoreKind.memory, 0 as Int64, 1), (.memory, 5_000, 3), (.redis, 0, 1), (.redis, 5_000, 1), (.redis, 0, 3), (.redis, 5_000, 3),
    ])
    func aCancelledRetryUnderTheClientsTokenLeavesItsLease(store: StoreKind, waitMs: Int64, limit: Int) async throws {
        try await store.withEngine { engine, inner in
            let name = try LockName(uniqueLockName())
            var request = AcquireRequest(name: name, ttlMs: 60_000, token: .random())
            request.limit = limit
            let held = try await engine.acquire(request)
            var retry = request
            retry.waitMs = waitMs
            let outcome = await acquireAsCancelledCaller(engine, retry)
            #expect(outcome == .cancelled)
            // (The cancelled attempt's give-back is done before it answers.)
            #expect(try await inner.status(of: name).holders.map(\.fence) == [held.lease.fence],
                    "a cancelled retry under the client's own token ended the lease the client holds")
            try await engine.release(name, token: held.lease.token)
        }
    }

    /// The same promise on another exit of the acquire path: a retry asking
    /// `durability: replicated` that no replica confirms is answered 503 —
    /// but the lease it found is the one the client already holds (granted
    /// before, with durability primary), which must stay, as a renewal that
    /// no replica confirms leaves the lease as it was. (No replica here: the
    /// Redis fixture has none, so `WAIT` confirms nothing.)
    @Test(arguments: [1, 3])
    func anUnreplicatedRetryLeavesTheLeaseTheClientHolds(limit: Int) async throws {
        try await StoreKind.redis.withEngine { engine, inner in
            let name = try LockName(uniqueLockName())
            var request = AcquireRequest(name: name, ttlMs: 60_000, token: .random())
            request.limit = limit
            let held = try await engine.acquire(request)
            var retry = request
            retry.durability = .replicated
            await #expect(throws: LockError.self) { try await engine.acquire(retry) }
            #expect(try await inner.status(of: name).holders.map(\.fence) == [held.lease.fence],
                    "a retry that could not be replicated ended the lease the client holds")
        }
    }
}
