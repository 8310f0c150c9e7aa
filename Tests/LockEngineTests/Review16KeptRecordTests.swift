@testable import LockEngine
import Testing

/// review16: a name released to nothing may keep its (emptied) record
/// until a sweep (wip-live29) — it must still act as a free name: any
/// limit and mode, no holder shown, not listed, a token that held it is
/// granted anew (201, a larger fence), and the record goes at a sweep.
@Suite struct Review16KeptRecordTests {
    private static func granted(_ store: InMemoryLockStore, _ attempt: AcquireAttempt) throws -> (Lease, Bool) {
        guard case let .granted(lease, isRetry, _) = try store.acquireAtOnce(attempt) else {
            Issue.record("not granted")
            throw LockError.leaseLost
        }
        return (lease, isRetry)
    }

    @Test func aNameReleasedToNothingActsAsAFreeName() async throws {
        let store = InMemoryLockStore()
        let name = try LockName("review16-kept-name")
        let token = LeaseToken.random()
        let (first, _) = try Self.granted(store, AcquireAttempt(name: name, token: token, ttlMs: 60_000, owner: "a", waiter: nil))
        #expect(store.releaseAtOnce(name, token: token))
        let status = try await store.status(of: name)
        #expect(status.holders.isEmpty)
        #expect(status.limit == 1)
        #expect(status.waiting == 0)
        #expect(try await store.list(prefix: "review16-kept", limit: 10, cursor: nil).locks.isEmpty)
        // The same token again: a new lease, not a retry of the released one.
        let (again, isRetry) = try Self.granted(store, AcquireAttempt(name: name, token: token, ttlMs: 60_000, owner: "a", waiter: nil))
        #expect(!isRetry)
        #expect(again.fence > first.fence)
        #expect(store.releaseAtOnce(name, token: token))
        #expect(!store.releaseAtOnce(name, token: token))
        // Taken as a semaphore of 3, then readers: whatever the last holder's limit was.
        var fences: [Int64] = [again.fence]
        var tokens: [LeaseToken] = []
        for _ in 0..<3 {
            let token = LeaseToken.random()
            let (lease, _) = try Self.granted(store, AcquireAttempt(name: name, token: token, ttlMs: 60_000, owner: nil, waiter: nil, limit: 3))
            #expect(lease.limit == 3)
            fences.append(lease.fence)
            tokens.append(token)
        }
        guard case .held = try store.acquireAtOnce(AcquireAttempt(name: name, token: .random(), ttlMs: 60_000, owner: nil, waiter: nil, limit: 3)) else {
            Issue.record("a fourth holder of a semaphore of 3")
            return
        }
        #expect(try await store.status(of: name).limit == 3)
        #expect(try await store.list(prefix: "review16-kept", limit: 10, cursor: nil).locks.map(\.name) == [name])
        for token in tokens { #expect(store.releaseAtOnce(name, token: token)) }
        #expect(try await store.status(of: name).limit == 1)
        let (shared, _) = try Self.granted(store, AcquireAttempt(name: name, token: .random(), ttlMs: 60_000, owner: nil, waiter: nil, mode: .shared))
        #expect(shared.mode == .shared)
        #expect(shared.limit == 1)
        fences.append(shared.fence)
        #expect(fences == fences.sorted() && Set(fences).count == fences.count)
    }

    /// Released records do not stay: a sweep drops them (at most an
    /// interval of acquires after their release), and the table is small again.
    @Test func releasedRecordsGoAtASweep() throws {
        let store = InMemoryLockStore()
        let interval = InMemoryLockStore.minimumSweepInterval
        for index in 0..<(3 * interval) {
            let name = try LockName("review16-released-\(index)"), token = LeaseToken.random()
            _ = try Self.granted(store, AcquireAttempt(name: name, token: token, ttlMs: 60_000, owner: nil, waiter: nil))
            #expect(store.releaseAtOnce(name, token: token))
        }
        // Sweeps came every `interval` acquires: at most one interval's names are left.
        #expect(store.recordCount <= interval)
        let held = try LockName("review16-released-held"), token = LeaseToken.random()
        _ = try Self.granted(store, AcquireAttempt(name: held, token: token, ttlMs: 60_000, owner: nil, waiter: nil))
        for _ in 0..<interval {
            let name = try LockName("review16-released-again"), again = LeaseToken.random()
            _ = try Self.granted(store, AcquireAttempt(name: name, token: again, ttlMs: 60_000, owner: nil, waiter: nil))
            #expect(store.releaseAtOnce(name, token: again))
        }
        #expect(store.recordCount <= 2)
    }

    /// Names held in a burst, then all released with no acquire after:
    /// their records (each with its lease array, ~190 bytes, and a long
    /// name's text) should not all stay until as many acquires again come
    /// (on main each went at its release; the table's room stayed until
    /// a sweep). At most a sweep interval's worth may be kept for reuse.
    @Test func namesReleasedAfterABurstDoNotAllStay() throws {
        let store = InMemoryLockStore()
        let interval = InMemoryLockStore.minimumSweepInterval
        var held: [(LockName, LeaseToken)] = []
        for index in 0..<(3 * interval) {
            let name = try LockName("review16-burst-released-name-\(index)"), token = LeaseToken.random()
            _ = try Self.granted(store, AcquireAttempt(name: name, token: token, ttlMs: 60_000, owner: nil, waiter: nil))
            held.append((name, token))
        }
        for (name, token) in held { #expect(store.releaseAtOnce(name, token: token)) }
        #expect(store.recordCount <= interval, "\(store.recordCount) records kept for \(3 * interval) released names")
    }
}
