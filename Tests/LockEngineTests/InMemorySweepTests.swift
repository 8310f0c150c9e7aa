@testable import LockEngine
import Testing

/// The in-memory store drops the records of expired leases now and then, so
/// names used once do not stay in memory forever — also when every acquire
/// is on a fresh name (each one adds a record as it counts an operation).
@Suite struct InMemorySweepTests {
    @Test func expiredNamesAreDroppedWhenEveryAcquireIsOnAFreshName() async throws {
        let store = InMemoryLockStore()
        let interval = InMemoryLockStore.minimumSweepInterval
        func acquire(_ prefix: String, _ count: Int, ttlMs: Int64) throws {
            for index in 0..<count {
                let attempt = AcquireAttempt(name: try LockName("\(prefix)-\(index)"), token: .random(), ttlMs: ttlMs, owner: nil, waiter: nil)
                guard case .granted = try store.acquireAtOnce(attempt) else { throw LockError.leaseLost }
            }
        }
        // A sweep at the interval's last acquire finds these held: it leaves them all.
        try acquire("held", interval, ttlMs: 60_000)
        #expect(store.recordCount == interval)
        // Fresh names that expire, one acquire short of the next sweep.
        try acquire("brief", interval - 1, ttlMs: 1)
        #expect(store.recordCount == 2 * interval - 1)
        let expired = WallClock.milliseconds() + 2
        while WallClock.milliseconds() <= expired { await Task.yield() }
        // The next acquire sweeps the expired names away before adding its own.
        try acquire("later", 100, ttlMs: 60_000)
        #expect(store.recordCount == interval + 100)
    }
}
