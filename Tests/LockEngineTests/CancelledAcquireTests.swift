import LockdTestSupport
import LockEngine
import Testing

/// `LockEngine.acquire` promises ``LockError/cancelled`` to a cancelled
/// caller, with nothing left held — also for a request that does not wait.
@Suite struct CancelledAcquireTests {
    @Test(arguments: StoreKind.allCases)
    func aCancelledCallersAcquireThatDoesNotWaitIsCancelledAndLeavesNothingHeld(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let outcome = await acquireAsCancelledCaller(engine, AcquireRequest(name: name, ttlMs: 60_000))
            #expect(outcome == .cancelled, "a cancelled caller was granted the lock")
            #expect(try await engine.status(of: name).holders.isEmpty, "a grant nobody will release was left held")
        }
    }
}
