import LockEngine
import LockdRedis
import LockdTestSupport
import Testing

/// A release by a lockd instance the store counts as gone: its liveness score
/// lapsed (its beats were lost, say in an outage) while it still runs. The
/// release script does not read the caller's score: the caller is calling, so
/// it is alive. Its own waiters keep their places, and when the name goes to
/// them alone they are granted in the reply, which the caller delivers. When
/// another instance waits too, the caller's waiter is only woken (nobody
/// counted gone is granted without asking) and every instance's first waiter
/// looks again at once, as if the lapsed waiter had been dropped
/// (Redis store; fixtures of ``HandOffTests``).
@Suite struct LapsedCallerHandOffTests {
    @Test(arguments: [1, 3])
    func aLapsedInstancesReleaseHandsItsOwnWaiterTheGrantInItsReply(limit: Int) async throws {
        try await HandOffTests.Fixture.with { fixture in
            let name = try LockName(uniqueLockName())
            var held: Lease?
            for _ in 0..<limit {
                let attempt = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: nil, limit: limit)
                guard case .granted(let lease, _, _) = try await fixture.store.acquire(attempt) else { throw LockError.leaseLost }
                held = lease
            }
            let waiter = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "waiter", waiter: .random(limit: limit),
                                        waitMs: 30_000, limit: limit)
            guard case .held = try await fixture.store.acquire(waiter), let holder = held else { throw LockError.leaseLost }
            let waiterID = try #require(waiter.waiter)
            try await lapse(fixture, waitingOn: name)
            #expect(try await fixture.store.release(name, token: holder.token))
            // Delivered before the release returned: it came in the reply.
            let handed = try #require(fixture.grants(for: waiterID).first)
            let status = try await fixture.store.status(of: name)
            #expect(status.waiting == 0)
            #expect(status.holders.contains { $0.fence == handed.fence && $0.owner == "waiter" })
            guard case .granted(let collected, false, _) = try await fixture.store.acquire(waiter) else {
                Issue.record("the handed grant was not collected")
                return
            }
            #expect(collected.fence == handed.fence)
        }
    }

    @Test func aLapsedInstancesWaiterAheadOfAnotherInstancesHasItLookAgainAtOnce() async throws {
        try await HandOffTests.Fixture.with { fixture in
            try await HandOffTests.Fixture.with(sharing: fixture) { other in
                let name = try LockName(uniqueLockName())
                let holder = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: nil)
                guard case .granted(let held, _, _) = try await fixture.store.acquire(holder) else { throw LockError.leaseLost }
                // This instance's waiter first, then the other instance's.
                let waiter = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "waiter", waiter: .random(), waitMs: 30_000)
                let behind = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "behind", waiter: .random(), waitMs: 30_000)
                guard case .held = try await fixture.store.acquire(waiter), case .held = try await other.store.acquire(behind) else {
                    throw LockError.leaseLost
                }
                try await other.keepBeating(name)
                try await lapse(fixture, waitingOn: name)
                #expect(try await fixture.store.release(name, token: held.token))
                let behindID = try #require(behind.waiter)
                // Should this instance never take the name (it may be dying),
                // the other's waiter is granted or told to look again now.
                let woken = await eventually {
                    other.events.wakeups.withLock { wakeups in
                        wakeups.contains { $0.name == name && ($0.hint.granted.contains { $0.waiter == behindID } || ($0.hint.recheckAfterMs ?? .max) <= 10) }
                    }
                }
                #expect(woken)
                // Looking again, it finds the lapsed waiter dropped and takes the name.
                guard case .granted(let lease, false, _) = try await other.store.acquire(behind) else {
                    Issue.record("the other instance's waiter did not take the name")
                    return
                }
                #expect(lease.fence > held.fence)
                #expect(try await other.store.status(of: name).holders.map(\.owner) == ["behind"])
            }
        }
    }

    /// Sets the liveness score of the instance whose waiter is first on
    /// `name` (a member's first 16 characters) in the past, as the store sees
    /// an instance whose beats stopped; its waiters stay queued.
    private func lapse(_ fixture: HandOffTests.Fixture, waitingOn name: LockName) async throws {
        let members = try await fixture.client.send(["ZRANGE", .string("lockd:{\(name.value)}:waiters"), "0", "0"]).array ?? []
        let instance = try #require(members.first?.string.map { String($0.prefix(16)) })
        _ = try await fixture.client.send(["ZADD", "lockd:instances", "1", .string(instance)])
    }
}
