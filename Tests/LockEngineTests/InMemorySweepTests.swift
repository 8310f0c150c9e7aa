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
        // The swept names' lease arrays are kept for fresh names, no more
        // than the next interval's acquires could take: each of the 100
        // took one.
        #expect(store.sweptLeaseCount == interval - 1 - 100)
    }

    /// Memory held for a burst of names comes back once they are gone: the
    /// records' table, which removals never shrink, is rebuilt at a sweep
    /// that finds it four times larger than it needs.
    @Test func aBurstOfNamesDoesNotKeepItsTableOnceTheyAreGone() throws {
        let store = InMemoryLockStore()
        let interval = InMemoryLockStore.minimumSweepInterval
        var tokens: [(LockName, LeaseToken)] = []
        for index in 0..<(5 * interval) {
            let name = try LockName("burst-\(index)"), token = LeaseToken.random()
            let attempt = AcquireAttempt(name: name, token: token, ttlMs: 60_000, owner: nil, waiter: nil)
            guard case .granted = try store.acquireAtOnce(attempt) else { throw LockError.leaseLost }
            tokens.append((name, token))
        }
        let burstCapacity = store.recordCapacity
        #expect(burstCapacity >= 5 * interval)
        // Released, a sweep interval's worth of the names' records stay
        // (emptied) until a sweep drops them; the others go as released.
        for (name, token) in tokens { #expect(store.releaseAtOnce(name, token: token)) }
        #expect(store.recordCount == interval)
        // One name taken and given back: operations, no names, until the
        // sweeps (at most 8 intervals apart after this burst) come.
        let again = try LockName("burst-again")
        var operations = 0
        while store.recordCapacity >= burstCapacity, operations < 16 * interval {
            let token = LeaseToken.random()
            guard case .granted = try store.acquireAtOnce(AcquireAttempt(name: again, token: token, ttlMs: 60_000, owner: nil, waiter: nil))
            else { throw LockError.leaseLost }
            #expect(store.releaseAtOnce(again, token: token))
            operations += 1
        }
        #expect(store.recordCapacity < burstCapacity / 4)
        #expect(store.recordCount == 1)
    }

    /// A sweep, which removes the ended records where they stand, keeps
    /// every record that still takes a slot or a place — a lease held, a
    /// lease renewed or retried past the TTL it was granted with, a lease
    /// a hand-over granted a waiter behind a short one (a sweep decides by
    /// each record's `keptUntilMs`, without reading its leases: each of
    /// these must have raised it), a slot in its lock delay, a queue behind
    /// an expired lease — and each is still found by its name after it.
    @Test func aSweepKeepsHeldDelayedAndQueuedNamesAndTheyStayFound() async throws {
        let store = InMemoryLockStore()
        let interval = InMemoryLockStore.minimumSweepInterval
        let held = try LockName("sweep-held"), delayed = try LockName("sweep-delayed"), queued = try LockName("sweep-queued")
        let renewed = try LockName("sweep-renewed"), renewer = LeaseToken.random()
        let holder = LeaseToken.random()
        func granted(_ attempt: AcquireAttempt) throws {
            guard case .granted = try store.acquireAtOnce(attempt) else { throw LockError.leaseLost }
        }
        try granted(AcquireAttempt(name: held, token: holder, ttlMs: 60_000, owner: nil, waiter: nil))
        try granted(AcquireAttempt(name: delayed, token: .random(), ttlMs: 1, owner: nil, waiter: nil, lockDelayMs: 60_000))
        try granted(AcquireAttempt(name: queued, token: .random(), ttlMs: 50, owner: nil, waiter: nil))
        let waiter = WaiterID.random(limit: 1)
        let waiting = AcquireAttempt(name: queued, token: .random(), ttlMs: 60_000, owner: nil, waiter: waiter, waitMs: 60_000)
        guard case .held = try store.acquireAtOnce(waiting) else { throw LockError.leaseLost }
        try granted(AcquireAttempt(name: renewed, token: renewer, ttlMs: 50, owner: nil, waiter: nil))
        #expect(try await store.renew(renewed, token: renewer, ttlMs: 60_000, durability: .primary) != nil)
        // Retried with its token and a longer TTL: the same lease, made to end later.
        let retried = try LockName("sweep-retried"), retrier = LeaseToken.random()
        try granted(AcquireAttempt(name: retried, token: retrier, ttlMs: 50, owner: nil, waiter: nil))
        try granted(AcquireAttempt(name: retried, token: retrier, ttlMs: 60_000, owner: nil, waiter: nil))
        // Handed over (an engine listens): the short holder's release grants
        // the waiter behind it its own long lease.
        let events = Task { await store.deliverEvents(to: { _ in }) }
        defer { events.cancel() }
        await store.waitForEvents(timeout: .seconds(10))
        let handed = try LockName("sweep-handed"), shortHolder = LeaseToken.random()
        try granted(AcquireAttempt(name: handed, token: shortHolder, ttlMs: 50, owner: nil, waiter: nil))
        let handedWaiter = WaiterID.random(limit: 1)
        let handedAttempt = AcquireAttempt(name: handed, token: .random(), ttlMs: 60_000, owner: nil, waiter: handedWaiter, waitMs: 60_000)
        guard case .held = try store.acquireAtOnce(handedAttempt) else { throw LockError.leaseLost }
        #expect(store.releaseAtOnce(handed, token: shortHolder))
        #expect(try await store.status(of: handed).holders.count == 1)
        // Ended names, between the kept ones in the table, up to an
        // acquire short of a sweep (nine acquires above).
        for index in 0..<(interval - 10) {
            try granted(AcquireAttempt(name: try LockName("sweep-brief-\(index)"), token: .random(), ttlMs: 1, owner: nil, waiter: nil))
        }
        let expired = WallClock.milliseconds() + 51
        while WallClock.milliseconds() <= expired { await Task.yield() }
        #expect(store.recordCount == interval - 4)
        // This acquire sweeps: the six kept names and its own are left.
        try granted(AcquireAttempt(name: try LockName("sweep-after"), token: .random(), ttlMs: 60_000, owner: nil, waiter: nil))
        #expect(store.recordCount == 7)
        #expect(try await store.renew(renewed, token: renewer, ttlMs: 60_000, durability: .primary) != nil)
        #expect(try await store.renew(retried, token: retrier, ttlMs: 60_000, durability: .primary) != nil)
        // The handed lease is there for its waiter to collect.
        #expect(try await store.status(of: handed).holders.count == 1)
        try granted(handedAttempt)
        // Each kept name is as it was: held by its holder, delayed, queued.
        #expect(try await store.status(of: held).holders.count == 1)
        #expect(try await store.renew(held, token: holder, ttlMs: 60_000, durability: .primary) != nil)
        #expect(try await store.status(of: delayed).delayedUntilMs != nil)
        let other = AcquireAttempt(name: delayed, token: .random(), ttlMs: 60_000, owner: nil, waiter: nil)
        guard case .held = try store.acquireAtOnce(other) else { throw LockError.leaseLost }
        #expect(try await store.status(of: queued).waiting == 1)
        try granted(AcquireAttempt(name: queued, token: waiting.token, ttlMs: 60_000, owner: nil, waiter: waiter, waitMs: 60_000))
        // Fresh names' records reuse the swept records' lease arrays: each
        // holds its own lease alone.
        for index in 0..<100 {
            let fresh = try LockName("sweep-fresh-\(index)")
            try granted(AcquireAttempt(name: fresh, token: .random(), ttlMs: 60_000, owner: "fresh-\(index)", waiter: nil))
            #expect(try await store.status(of: fresh).holders.map(\.owner) == ["fresh-\(index)"])
        }
    }
}
