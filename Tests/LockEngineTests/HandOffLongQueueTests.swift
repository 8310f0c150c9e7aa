import LockEngine
import LockdTestSupport
import Testing

/// A release that grants this instance's own next waiter tells the grant in
/// its reply only when every waiter behind is this instance's too. The
/// release reads the queue's head once (34 members): another instance's
/// waiter anywhere behind — inside that read or past it — still hears when
/// to look again (Redis store; fixtures of ``HandOffTests``).
@Suite struct HandOffLongQueueTests {
    @Test(arguments: [20, 40])
    func anotherInstancesWaiterFarBackStillHearsWhenToLookAgain(ownWaiters: Int) async throws {
        try await withTwoInstances { fixture, other in
            let name = try LockName(uniqueLockName())
            let holder = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: nil)
            guard case .granted(let held, _, _) = try await fixture.store.acquire(holder) else { throw LockError.leaseLost }
            // This instance's waiters (the first takes a 1 s lease), then the other instance's one.
            var first: WaiterID?
            for index in 0..<ownWaiters {
                let waiter = AcquireAttempt(name: name, token: .random(), ttlMs: index == 0 ? 1_000 : 30_000, owner: "own",
                                            waiter: .random(), waitMs: 30_000)
                guard case .held = try await fixture.store.acquire(waiter) else { throw LockError.leaseLost }
                first = first ?? waiter.waiter
            }
            let behind = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "behind", waiter: .random(), waitMs: 30_000)
            guard case .held = try await other.store.acquire(behind) else { throw LockError.leaseLost }
            try await fixture.keepBeating(name)
            try await other.keepBeating(name)
            #expect(try await fixture.store.release(name, token: held.token))
            let firstID = try #require(first)
            let grantedAgain = await eventually { fixture.grants(for: firstID).count == 1 }
            #expect(grantedAgain)
            // The other instance hears when the first waiter's 1 s lease ends.
            let woken = await eventually {
                other.events.wakeups.withLock { $0.contains { $0.name == name && ($0.hint.recheckAfterMs ?? .max) <= 1_000 } }
            }
            #expect(woken)
        }
    }

    /// Two store instances on one Redis, stopped however `body` ends.
    private func withTwoInstances(_ body: (HandOffTests.Fixture, HandOffTests.Fixture) async throws -> Void) async throws {
        let fixture = try await HandOffTests.Fixture.start()
        let other: HandOffTests.Fixture
        do {
            other = try await HandOffTests.Fixture.start(sharing: fixture)
        } catch {
            await fixture.stop()
            throw error
        }
        do {
            try await body(fixture, other)
        } catch {
            await other.stop()
            await fixture.stop()
            throw error
        }
        await other.stop()
        await fixture.stop()
    }
}
