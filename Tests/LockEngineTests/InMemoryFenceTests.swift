@testable import LockEngine
import Testing

/// The in-memory store's fences follow the wall clock in microseconds (one
/// reading per acquire serves the lease's times and its fence), so a store
/// made later — a restarted process — still issues larger fences.
@Suite struct InMemoryFenceTests {
    private static func grant(_ store: InMemoryLockStore, _ name: String) throws -> Lease {
        let attempt = AcquireAttempt(name: try LockName(name), token: .random(), ttlMs: 60_000, owner: nil, waiter: nil)
        guard case .granted(let lease, _, _) = try store.acquireAtOnce(attempt) else { throw LockError.leaseLost }
        return lease
    }

    @Test func fencesAreAtLeastTheClockAndKeepGrowingInALaterStore() async throws {
        let first = InMemoryLockStore()
        var last: Int64 = 0
        for index in 0..<3 {
            let before = WallClock.microseconds()
            let lease = try Self.grant(first, "fence-\(index)")
            #expect(lease.fence >= before)
            #expect(lease.fence > last)
            last = lease.fence
        }
        // A refused acquire issues no fence: the next grant is still the next one up.
        let refused = AcquireAttempt(name: try LockName("fence-0"), token: .random(), ttlMs: 60_000, owner: nil, waiter: nil)
        guard case .held = try first.acquireAtOnce(refused) else { throw LockError.leaseLost }
        let after = try Self.grant(first, "fence-3")
        #expect(after.fence > last)
        last = after.fence
        // Once the clock has passed the last fence, a new store starts above it.
        while WallClock.microseconds() <= last { await Task.yield() }
        let restarted = try Self.grant(InMemoryLockStore(), "fence-0")
        #expect(restarted.fence > last)
    }
}
