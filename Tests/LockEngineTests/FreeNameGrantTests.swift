import LockdTestSupport
import LockEngine
import Testing

/// The acquire script grants a plain lock at once, after one `EXISTS`, only
/// on a name with nothing there: no lease, no holders, no queue. Anything
/// there sends the request the long way, as before: a queue left behind an
/// expired lease is not jumped, by a request that waits or one that does
/// not, and a name held in the holders' layout answers its other limit.
/// Redis only: the shortcut is the script's.
@Suite struct FreeNameGrantTests {
    @Test func aQueueBehindAnExpiredLeaseIsNotJumped() async throws {
        try await HandOffTests.Fixture.with { fixture in
            let name = try LockName(uniqueLockName())
            // Held for 30 s until the waiter is queued behind it (a 300 ms lease
            // ran out first when a busy machine stalled the test that long).
            let brief = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "brief", waiter: nil)
            guard case .granted = try await fixture.store.acquire(brief) else { throw LockError.leaseLost }
            try await fixture.keepBeating(name)
            let first = WaiterID.random(limit: 1)
            let waiter = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "first", waiter: first, waitMs: 30_000)
            let answer = try await fixture.store.acquire(waiter)
            guard case .held = answer else { throw TestFailure("the waiter found the name free: \(answer)") }
            // Then made brief: renewed for 300 ms, from Redis's clock.
            let renewed = try await fixture.store.renew(name, token: brief.token, ttlMs: 300, durability: .primary)
            try #require(renewed != nil, "the brief lease was lost before it was renewed")
            // The lease expires (announcing nothing): no lease, a queue.
            let expired = try await eventually { try await fixture.store.status(of: name).holders.isEmpty }
            #expect(expired)

            // A request that does not wait finds the name held by the queue.
            let bystander = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "bystander", waiter: nil)
            let answered = try await fixture.store.acquire(bystander)
            guard case .held = answered else {
                Issue.record("a request that does not wait jumped the queue: \(answered)")
                return
            }
            // One that waits queues behind the first waiter.
            let second = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "second", waiter: .random(limit: 1),
                                        waitMs: 30_000)
            let queued = try await fixture.store.acquire(second)
            guard case .held = queued else {
                Issue.record("a second waiter jumped the first: \(queued)")
                return
            }
            // The first waiter takes it.
            guard case .granted(let lease, _, _) = try await fixture.store.acquire(waiter) else {
                Issue.record("the first waiter was not granted the name")
                return
            }
            #expect(lease.owner == "first")
            #expect(try await fixture.store.status(of: name).holders.map(\.owner) == ["first"])
        }
    }

    @Test func aNameHeldInTheHoldersLayoutAnswersItsLimit() async throws {
        try await HandOffTests.Fixture.with { fixture in
            let name = try LockName(uniqueLockName())
            let slot = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "slot", waiter: nil, limit: 2)
            guard case .granted = try await fixture.store.acquire(slot) else { throw LockError.leaseLost }
            for waiter in [nil, WaiterID.random(limit: 1)] {
                let plain = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "plain", waiter: waiter,
                                           waitMs: waiter == nil ? 0 : 30_000)
                await #expect(throws: LockError.limitMismatch(limit: 2)) { try await fixture.store.acquire(plain) }
            }
        }
    }

    @Test func aFreeNameIsGrantedWithAFenceAboveTheLastOne() async throws {
        try await HandOffTests.Fixture.with { fixture in
            let name = try LockName(uniqueLockName())
            var fences: [Int64] = []
            for (index, waiter) in [nil, WaiterID.random(limit: 1), nil].enumerated() {
                let attempt = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "owner-\(index)", waiter: waiter,
                                             waitMs: waiter == nil ? 0 : 30_000)
                guard case .granted(let lease, let isRetry, _) = try await fixture.store.acquire(attempt) else {
                    Issue.record("a free name was not granted")
                    return
                }
                #expect(!isRetry)
                #expect(lease.owner == "owner-\(index)" && lease.ttlMs == 30_000 && lease.mode == .exclusive && lease.limit == 1)
                #expect(try await fixture.store.status(of: name).holders.map(\.fence) == [lease.fence])
                fences.append(lease.fence)
                #expect(try await fixture.store.release(name, token: attempt.token))
            }
            #expect(fences == fences.sorted() && Set(fences).count == 3)
        }
    }

    /// Neither an expired lease's slot kept through its lock delay nor
    /// readers' leases leave the name free: a plain lock (that waits or
    /// not) is refused there, as the long way refuses it (review9: the
    /// shortcut's two other states the holders' layout alone records).
    @Test func aLockDelaysSlotAndReadersLeaveTheNameHeld() async throws {
        try await HandOffTests.Fixture.with { fixture in
            let delayed = try LockName(uniqueLockName())
            let brief = AcquireAttempt(name: delayed, token: .random(), ttlMs: 200, owner: "brief", waiter: nil, lockDelayMs: 30_000)
            guard case .granted = try await fixture.store.acquire(brief) else { throw LockError.leaseLost }
            let expired = try await eventually { try await fixture.store.status(of: delayed).holders.isEmpty }
            #expect(expired)
            #expect(try await fixture.store.status(of: delayed).delayedUntilMs != nil)
            let reader = try LockName(uniqueLockName())
            let shared = AcquireAttempt(name: reader, token: .random(), ttlMs: 30_000, owner: "reader", waiter: nil, mode: .shared)
            guard case .granted = try await fixture.store.acquire(shared) else { throw LockError.leaseLost }
            for name in [delayed, reader] {
                for waiter in [nil, WaiterID.random(limit: 1)] {
                    let plain = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "plain", waiter: waiter,
                                               waitMs: waiter == nil ? 0 : 30_000)
                    let answered = try await fixture.store.acquire(plain)
                    guard case .held = answered else {
                        Issue.record("a plain lock on \(name) (waiting: \(waiter != nil)) was answered \(answered)")
                        continue
                    }
                }
            }
        }
    }
}
