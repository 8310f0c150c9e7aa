import LockdTestSupport
import LockEngine
import Synchronization
import Testing

/// Passes every call to a real store, but stalls after the first `stalls`
/// grants — as if lockd were paused between the store's answer and its own —
/// and with `thenFail` reports them unavailable, as if the reply were lost;
/// with `beforeAsking`, it stalls the first `stalls` acquires before the
/// store sees them instead (a request held up on its way: its grant is
/// fresh but late); its first `releaseFailures` releases and give-backs
/// fail unsent, as in an outage. With `leasesLastMs`, every lease it grants
/// is renewed in the real store for that long before the engine hears of
/// it (the engine still sees the TTL it asked for, so a stall makes the
/// grant late all the same): a later attempt under the same token finds
/// it however long the machine takes to get there. An acquire sent by
/// ``hangUp(_:_:losing:)`` is lost as that says.
final class StalledStore: ForwardingLockStore {
    /// How an acquire whose caller hangs up is lost.
    enum Loss {
        /// Before the store saw it.
        case unsent
        /// After the store ran it: its reply is dropped.
        case replyLost
    }

    let inner: any LockStore
    private let stall: Duration
    private let thenFail: Bool
    private let beforeAsking: Bool
    private let leasesLastMs: Int64?
    private let state: Mutex<(remaining: Int, grants: [Lease], releaseFailures: Int)>

    init(_ inner: any LockStore, stalls: Int, stall: Duration, thenFail: Bool = false, beforeAsking: Bool = false, releaseFailures: Int = 0,
         leasesLastMs: Int64? = nil) {
        self.inner = inner
        self.leasesLastMs = leasesLastMs
        self.stall = stall
        self.thenFail = thenFail
        self.beforeAsking = beforeAsking
        self.state = Mutex((stalls, [], releaseFailures))
    }

    var grantsSeen: [Lease] { state.withLock { $0.grants } }
    /// The next acquires to lose, in order.
    private let losses = Mutex<[Loss]>([])
    /// Lost acquires that wait for their caller to hang up.
    private let hungUp = Atomic<Int>(0)

    /// Sends `request` and hangs up once its store call is lost as `loss`
    /// says: the request is answered `cancelled`.
    func hangUp(_ engine: LockEngine, _ request: AcquireRequest, losing loss: Loss) async throws {
        losses.withLock { $0.append(loss) }
        let before = hungUp.load(ordering: .relaxed)
        let caller = Task { try await engine.acquire(request) }
        let hungUpAgain = await eventually(within: .seconds(10)) { self.hungUp.load(ordering: .relaxed) > before }
        #expect(hungUpAgain)
        caller.cancel()
        await #expect(throws: LockError.cancelled) { try await caller.value }
    }

    /// Runs `engine`'s upkeep until one more give-back than so far reaches
    /// the store (what the engine queued when the store failed it), within 10 s.
    /// - Returns: whether one did.
    func upkeepGivesBack(_ engine: LockEngine) async -> Bool {
        let before = givenBack.load(ordering: .relaxed)
        let upkeep = Task { await engine.run() }
        defer { upkeep.cancel() }
        return await eventually(within: .seconds(10)) { self.givenBack.load(ordering: .relaxed) > before }
    }

    /// Sends `request` and hangs up once the store granted it, before the
    /// caller is answered (this store stalls the first grant).
    func hangUpOnceGranted(_ engine: LockEngine, _ request: AcquireRequest) async throws {
        let caller = Task { try await engine.acquire(request) }
        let grantSeen = await eventually(within: .seconds(10)) { self.grantsSeen.count == 1 }
        #expect(grantSeen)
        caller.cancel()
        await #expect(throws: LockError.self) { try await caller.value }
    }

    nonisolated(nonsending) func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        if let loss = losses.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
            if loss == .replyLost, case .granted(let lease, _, _) = try await inner.acquire(attempt) {
                state.withLock { $0.grants.append(lease) }
            }
            hungUp.add(1, ordering: .relaxed)
            // Until the caller hangs up (``hangUp(_:_:losing:)`` cancels it); no reply comes.
            try? await Task.sleep(for: .seconds(60))
            throw .cancelled
        }
        if beforeAsking {
            let mustStall = state.withLock { state -> Bool in
                guard state.remaining > 0 else { return false }
                state.remaining -= 1
                return true
            }
            if mustStall { try? await Task.sleep(for: stall) }
            let result = try await inner.acquire(attempt)
            if case .granted(let lease, _, _) = result {
                state.withLock { $0.grants.append(lease) }
                try await keep(attempt)
            }
            return result
        }
        let result = try await inner.acquire(attempt)
        guard case .granted(let lease, _, _) = result else { return result }
        try await keep(attempt)
        let mustStall = state.withLock { state -> Bool in
            state.grants.append(lease)
            guard state.remaining > 0 else { return false }
            state.remaining -= 1
            return true
        }
        if mustStall { try? await Task.sleep(for: stall) }
        if mustStall && thenFail { throw .unavailable("the reply was lost") }
        return result
    }

    /// Renews what `attempt` was granted for `leasesLastMs`, if set.
    private nonisolated(nonsending) func keep(_ attempt: AcquireAttempt) async throws(LockError) {
        guard let leasesLastMs else { return }
        let kept = try await inner.renew(attempt.name, token: attempt.token, ttlMs: leasesLastMs, durability: attempt.durability)
        #expect(kept != nil, "the lease just granted was gone before it could be kept")
    }

    nonisolated(nonsending) func release(_ name: LockName, token: LeaseToken) async throws(LockError) -> Bool {
        try failIfDue()
        return try await inner.release(name, token: token)
    }
    nonisolated(nonsending) func giveBack(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool) async throws(LockError) -> Bool {
        try failIfDue()
        let released = try await inner.giveBack(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed)
        givenBack.add(1, ordering: .relaxed)
        return released
    }
    /// Give-backs that reached the real store.
    let givenBack = Atomic<Int>(0)
    private func failIfDue() throws(LockError) {
        let fails = state.withLock { state in
            defer { state.releaseFailures = max(0, state.releaseFailures - 1) }
            return state.releaseFailures > 0
        }
        if fails { throw .unavailable("the store is unavailable") }
    }
}
