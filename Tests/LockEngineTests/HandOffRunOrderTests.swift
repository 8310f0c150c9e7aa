import LockEngine
import LockdTestSupport
import Synchronization
import Testing

/// fence3: a release that frees a name for a run of readers grants the whole
/// run in one step, in queue order, whichever of its waiters' lockd would
/// have asked first. A store that only wakes them (the in-memory one before
/// this) let each take its own grant, so two readers' attempts could run in
/// either order and their fences came out of queue order (a rare CI failure
/// of ``HandOffRunFenceReviewTests``). Here the order is forced: a second
/// reader's own attempt after the release is held back until the third's has
/// been answered.
@Suite struct HandOffRunOrderTests {
    @Test(arguments: StoreKind.allCases)
    func aRunOfReadersGetsFencesInQueueOrderWhicheverAsksFirst(store: StoreKind) async throws {
        try await store.withStore { inner, _, _ in
            let name = try LockName(uniqueLockName())
            let reorder = SecondAfterThirdStore(inner)
            try await reorder.withRunningEngine { engine in
                let writer = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
                var readers: [Task<AcquireGrant, any Error>] = []
                defer { for reader in readers { reader.cancel() } }
                for count in 1...3 {
                    readers.append(Task {
                        try await engine.acquireByWaiting(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 30_000, mode: .shared))
                    })
                    let queued = try await eventually { try await engine.status(of: name).waiting == count }
                    #expect(queued)
                }
                #expect(reorder.waiters.count == 3, "the readers' waiter ids: \(reorder.waiters)")
                reorder.holdSecondBehindThird()
                try await engine.release(name, token: writer.lease.token)
                let third = try await readers[2].value.lease.fence
                reorder.open()
                let fences = [try await readers[0].value.lease.fence, try await readers[1].value.lease.fence, third]
                #expect(Set(fences).count == fences.count, "a fence was issued twice: \(fences)")
                #expect(fences == fences.sorted(), "fences out of queue order: \(fences)")
                #expect(fences.allSatisfy { $0 > writer.lease.fence })
                let held = try await engine.status(of: name).holders.map(\.fence).sorted()
                #expect(held == fences.sorted(), "holders \(held)")
            }
        }
    }
}

/// Passes every call and event to a real store, and once armed holds back
/// the second waiter's attempts (in the order the waiters first asked)
/// until the third waiter's attempt has been answered, or the test opens
/// the way (bounded: a hold that never ends fails the test, not the run).
final class SecondAfterThirdStore: ForwardingLockStore {
    let inner: any LockStore
    private struct State {
        var waiters: [WaiterID] = []
        var armed = false
        var open = false
    }
    private let state = Mutex(State())

    init(_ inner: any LockStore) {
        self.inner = inner
    }

    /// The waiters in the order of their first attempts.
    var waiters: [WaiterID] { state.withLock { $0.waiters } }

    /// From now on the second waiter's attempts wait for the third's answer.
    func holdSecondBehindThird() {
        state.withLock { $0.armed = true }
    }

    /// Lets every attempt through.
    func open() {
        state.withLock { $0.open = true }
    }

    nonisolated(nonsending) func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        let held = state.withLock { state -> Bool in
            guard let waiter = attempt.waiter else { return false }
            if !state.waiters.contains(waiter) { state.waiters.append(waiter) }
            return state.armed && !state.open && state.waiters.count >= 3 && state.waiters[1] == waiter
        }
        if held {
            _ = await eventually(within: .seconds(30)) { self.state.withLock { $0.open } }
        }
        let result = try await inner.acquire(attempt)
        if let waiter = attempt.waiter {
            state.withLock { state in
                if state.armed, state.waiters.count >= 3, state.waiters[2] == waiter { state.open = true }
            }
        }
        return result
    }

    func deliverEvents(to handler: @escaping @Sendable (StoreEvent) -> Void) async {
        await inner.deliverEvents(to: handler)
    }
}
