@testable import LockEngine
import LockdTestSupport
import LockdTransport
import Synchronization
import Testing

/// A waiting acquire whose grant, handed by a release, reaches it too late
/// and is given back after its wait has ended is answered as one whose own
/// attempt's grant came too late then: "too slow", with no attempt after
/// its wait (``TooSlowGiveBackTests``).
@Suite struct LateHandedGrantTests {
    @Test(arguments: StoreKind.allCases)
    func aHandedGrantGivenBackAfterTheWaitEndedIsNotFollowedByAnotherAttempt(store: StoreKind) async throws {
        try await store.withStore { inner, _, _ in
            let name = try LockName(uniqueLockName())
            let holder = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: nil)
            guard case .granted(let held, _, _) = try await inner.acquire(holder) else {
                Issue.record("the holder was not granted")
                return
            }
            // The grant reaches the waiter as if two of its 200 ms TTLs
            // after the store made it, however fast the machine: too late to
            // deliver, well within its 5 s wait. Its give-back is answered
            // once that wait has ended.
            let late = LateHandOffStore(inner)
            try await late.withRunningEngine { engine in
                let waiting = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 200, waitMs: 5_000)) }
                let parked = await eventually { !engine.waiters.parkedQueues(names: [name]).isEmpty }
                #expect(parked)
                late.expectHandOff()
                let released = try await inner.release(name, token: held.token)
                #expect(released)
                let answer = await expectUnavailable { try await waiting.value }
                #expect(late.handedOver.load(ordering: .relaxed) == 1, "the waiter was not handed its grant")
                guard answer else { return }
                #expect(late.givenBack.load(ordering: .relaxed) == 1)
                #expect(late.attemptsSinceGiveBack == 0, "the store was asked again after the grant was given back")
                let status = try await inner.status(of: name)
                #expect(status.isHeld == false)
                let owed = engine.pendingUpkeep.withLock { $0.givenBack.map(\.token) }
                #expect(owed.isEmpty, "give-backs still owed: \(owed.count), for a grant already given back")
            }
        }
    }
}

/// Passes every call and event to a real store, and hands a waiter its
/// grant as if it had been long on its way: the wake-up that frees the name
/// for a waiter reaches the engine with the grant dated two of its TTLs
/// back (lockd paused between the store's notice and its own), and a
/// give-back is answered only once the waits of the waiting attempts seen
/// so far have ended. A store that only wakes the waiter (Redis when the
/// waiter's instance had not beaten lately) has it granted here, as a
/// release hands it over: by the waiter's own attempt, so the lease is the
/// waiter's and unclaimed.
///
/// Nothing else may reach the waiter first: from ``expectHandOff()`` until
/// the grant is handed over, the answers of the engine's queue checks are
/// held back (on Redis one finds the grant made and not yet heard of, and
/// wakes the waiter to collect it by an attempt of its own — a lost
/// wake-up's recovery, which a busy machine's late beat sets off).
final class LateHandOffStore: ForwardingLockStore {
    let inner: any LockStore
    /// When the longest wait of the waiting attempts seen so far ends (monotonic ns).
    private let waitsEnd = Atomic<UInt64>(0)
    /// The engine's acquires (each a store attempt).
    let attempts = Atomic<Int>(0)
    /// ``attempts`` when the first give-back was asked for (-1: none yet).
    private let attemptsAtGiveBack = Atomic<Int>(-1)
    /// Wake-ups that handed the engine a waiter's grant.
    let handedOver = Atomic<Int>(0)
    /// Give-backs that reached the real store.
    let givenBack = Atomic<Int>(0)
    /// A release is about to hand a waiter its grant: queue checks wait.
    private let handOffDue = Atomic<Bool>(false)
    /// The last attempt of each waiter, to grant it as the store would.
    private let waiting = Mutex<[WaiterID: AcquireAttempt]>([:])

    init(_ inner: any LockStore) {
        self.inner = inner
    }

    /// The test is about to release the name to a waiter.
    func expectHandOff() {
        handOffDue.store(true, ordering: .relaxed)
    }

    /// The engine's attempts since its first give-back (0 if none).
    var attemptsSinceGiveBack: Int {
        let before = attemptsAtGiveBack.load(ordering: .relaxed)
        return before < 0 ? 0 : attempts.load(ordering: .relaxed) - before
    }

    nonisolated(nonsending) func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        attempts.add(1, ordering: .relaxed)
        if let waiter = attempt.waiter {
            waiting.withLock { $0[waiter] = attempt }
            // The engine's deadline is at most its whole milliseconds left
            // (rounded down) after the attempt was made, so before this.
            _ = waitsEnd.max(MonotonicClock.now() + UInt64(attempt.waitMs + 1) * 1_000_000, ordering: .relaxed)
        }
        return try await inner.acquire(attempt)
    }

    nonisolated(nonsending) func giveBack(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool) async throws(LockError) -> Bool {
        _ = attemptsAtGiveBack.compareExchange(expected: -1, desired: attempts.load(ordering: .relaxed), ordering: .relaxed)
        let end = waitsEnd.load(ordering: .relaxed), now = MonotonicClock.now()
        if end > now { try? await Task.sleep(for: .nanoseconds(Int64(clamping: end - now))) }
        let released = try await inner.giveBack(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed)
        givenBack.add(1, ordering: .relaxed)
        return released
    }

    func reconcile(_ queues: [LocalQueue]) async throws(LockError) -> [QueueRepair] {
        let repairs = try await inner.reconcile(queues)
        // Bounded: a hand-off that never comes fails the test, not the wait.
        _ = await eventually(within: .seconds(30)) { !self.handOffDue.load(ordering: .relaxed) }
        return repairs
    }

    func deliverEvents(to handler: @escaping @Sendable (StoreEvent) -> Void) async {
        await inner.deliverEvents { event in
            guard case .wakeup(let wakeup) = event else { return handler(event) }
            let known = self.waiting.withLock { $0 }
            let handed = wakeup.hint.granted.compactMap { grant in known[grant.waiter].map { self.aged(grant, ttlMs: $0.ttlMs) } }
            let woken = wakeup.hint.wake.compactMap { known[$0] }
            guard !handed.isEmpty || !woken.isEmpty else { return handler(event) }
            // Handed over in the store's own callback when it granted: no
            // moment between the grant and the engine's hearing of it.
            guard !woken.isEmpty else { return self.handOver(wakeup, granted: handed, to: handler) }
            Task {
                var granted = handed
                for attempt in woken {
                    guard case .granted(let lease, _, _) = try? await self.inner.acquire(attempt), let waiter = attempt.waiter else { continue }
                    granted.append(self.aged(HandedGrant(waiter: waiter, fence: lease.fence, grantedAtMs: lease.expiresAtMs - lease.ttlMs,
                                                         grantedBefore: MonotonicClock.now()), ttlMs: attempt.ttlMs))
                }
                self.handOver(wakeup, granted: granted, to: handler)
            }
        }
    }

    private func handOver(_ wakeup: Wakeup, granted: [HandedGrant], to handler: @Sendable (StoreEvent) -> Void) {
        handler(.wakeup(Wakeup(name: wakeup.name, hint: WaitHint(granted: granted), isOrdered: wakeup.isOrdered)))
        if !granted.isEmpty { handedOver.add(1, ordering: .relaxed) }
        handOffDue.store(false, ordering: .relaxed)
    }

    /// `grant`, made two TTLs before now as far as the engine can tell.
    private func aged(_ grant: HandedGrant, ttlMs: Int64) -> HandedGrant {
        let now = MonotonicClock.now(), age = UInt64(2 * ttlMs) * 1_000_000
        return HandedGrant(waiter: grant.waiter, fence: grant.fence, grantedAtMs: grant.grantedAtMs, grantedBefore: now > age ? now - age : 0)
    }
}
