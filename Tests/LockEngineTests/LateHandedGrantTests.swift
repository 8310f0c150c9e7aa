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
            // The grant reaches the waiter 300 ms after the release, past 90 %
            // of its 200 ms TTL but well within its 5 s wait; its give-back
            // is answered once that wait has ended.
            let late = LateHandOffStore(inner, handOffDelay: .milliseconds(300))
            try await late.withRunningEngine { engine in
                let waiting = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 200, waitMs: 5_000)) }
                let parked = await eventually { !engine.waiters.parkedQueues(names: [name]).isEmpty }
                #expect(parked)
                let released = try await inner.release(name, token: held.token)
                #expect(released)
                let answer = await expectUnavailable { try await waiting.value }
                #expect(late.attempts.load(ordering: .relaxed) == 1, "the store was asked again after the wait had ended")
                guard answer else { return }
                #expect(late.givenBack.load(ordering: .relaxed) == 1)
                let status = try await inner.status(of: name)
                #expect(status.isHeld == false)
                let owed = engine.pendingUpkeep.withLock { $0.givenBack.map(\.token) }
                #expect(owed.isEmpty, "give-backs still owed: \(owed.count), for a grant already given back")
            }
        }
    }
}

/// Passes every call and event to a real store, and hands a waiter its
/// grant late: the wake-up that frees the name for a waiter reaches the
/// engine `handOffDelay` after the store granted it (lockd paused between
/// the store's notice and its own), and a give-back is answered only once
/// the waits of the waiting attempts seen so far have ended. A store that only wakes the waiter (the in-memory
/// one; Redis when the waiter's instance had not beaten lately) has it
/// granted here, as Redis's release script grants it: by the waiter's own
/// attempt, so the lease is the waiter's and unclaimed.
final class LateHandOffStore: ForwardingLockStore {
    let inner: any LockStore
    private let handOffDelay: Duration
    /// When the longest wait of the waiting attempts seen so far ends (monotonic ns).
    private let waitsEnd = Atomic<UInt64>(0)
    /// The engine's acquires (each a store attempt).
    let attempts = Atomic<Int>(0)
    /// Give-backs that reached the real store.
    let givenBack = Atomic<Int>(0)
    /// The last attempt of each waiter, to grant it as the store would.
    private let waiting = Mutex<[WaiterID: AcquireAttempt]>([:])

    init(_ inner: any LockStore, handOffDelay: Duration) {
        self.inner = inner
        self.handOffDelay = handOffDelay
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
        let end = waitsEnd.load(ordering: .relaxed), now = MonotonicClock.now()
        if end > now { try? await Task.sleep(for: .nanoseconds(Int64(clamping: end - now))) }
        let released = try await inner.giveBack(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed)
        givenBack.add(1, ordering: .relaxed)
        return released
    }

    func deliverEvents(to handler: @escaping @Sendable (StoreEvent) -> Void) async {
        await inner.deliverEvents { event in
            guard case .wakeup(let wakeup) = event else { return handler(event) }
            let known = self.waiting.withLock { $0 }
            let handed = wakeup.hint.granted.filter { known[$0.waiter] != nil }
            let woken = wakeup.hint.wake.compactMap { known[$0] }
            guard !handed.isEmpty || !woken.isEmpty else { return handler(event) }
            Task {
                var granted = handed
                for attempt in woken {
                    let grantedBefore = MonotonicClock.now()
                    guard case .granted(let lease, _, _) = try? await self.inner.acquire(attempt), let waiter = attempt.waiter else { continue }
                    granted.append(HandedGrant(waiter: waiter, fence: lease.fence, grantedAtMs: lease.expiresAtMs - lease.ttlMs,
                                               grantedBefore: grantedBefore))
                }
                try? await Task.sleep(for: self.handOffDelay)
                handler(.wakeup(Wakeup(name: wakeup.name, hint: WaitHint(granted: granted), isOrdered: wakeup.isOrdered)))
            }
        }
    }
}
