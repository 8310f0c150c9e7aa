import LockdTestSupport
import LockEngine
import Synchronization
import Testing

/// review2, session 12 (review of wip-fence): grants lockd made under its
/// own token that no client will ever have must not outlive the request
/// that answered without them, whichever way it ends.
@Suite struct FenceGiveBackReviewTests {
    /// A waiting acquire (no token of the client's) whose first attempt the
    /// store granted but whose reply was lost, in an outage longer than the
    /// grace: the request is answered 503, so no client has that lease.
    /// Leaving the queue takes back only a grant a release handed the
    /// waiter, not one its own attempt took: the lease must still be given
    /// back once the store serves again, not held by nobody for its TTL.
    @Test(arguments: StoreKind.allCases)
    func aWaitingAcquireAnswered503LeavesNoLeaseBehind(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            let outage = OutageStore(inner, grantsThenFails: 1)
            var configuration = LockEngineConfiguration()
            configuration.outageGrace = .milliseconds(100)
            try await outage.withRunningEngine(configuration: configuration) { engine in
                let name = try LockName(uniqueLockName())
                guard await expectUnavailable({
                    try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 5_000))
                }) else { return }
                let granted = try #require(outage.grantsSeen.first, "the store never granted the first attempt")
                #expect(try await inner.status(of: name).holders.map(\.fence) == [granted.fence])
                outage.end()
                let freed = try await eventually(within: .seconds(10)) { try await inner.status(of: name).isHeld == false }
                #expect(freed, "the lease a 503'd waiting acquire was granted is held by nobody for its TTL")
            }
        }
    }

    /// A no-wait acquire whose first grant came too late and could not be
    /// given back (an outage: queued) finds that lease on its next attempt
    /// and delivers it (claimed by that asking). The client then hangs up
    /// before the answer is written, and the server gives the grant back
    /// (``LockEngine/giveBackUndelivered(_:)``). Nobody has the lease now:
    /// neither that give-back nor the queued one may spare it as claimed.
    @Test(arguments: StoreKind.allCases)
    func aFoundAgainGrantWhoseAnswerWasDroppedIsGivenBack(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            // Late past 90 % of the TTL; its give-back fails once (queued). The
            // store keeps it 60 s (the engine still counts 3 s): the next attempt
            // finds it however late a busy machine wakes the stall — with 150 ms
            // to spare it had expired by then, and that attempt got a new grant.
            let late = StalledStore(inner, stalls: 1, stall: .milliseconds(2_850), releaseFailures: 1, leasesLastMs: 60_000)
            try await late.withRunningEngine { engine in
                let name = try LockName(uniqueLockName())
                let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 3_000))
                #expect(late.grantsSeen.count == 2)
                #expect(grant.lease.fence == late.grantsSeen[0].fence, "not the case under review: the first grant was not found again")
                // Its answer is dropped unwritten: the server gives it back.
                engine.giveBackUndelivered(grant)
                // Long before the lease's 60 s in the store end: only the give-back frees it.
                let freed = try await eventually(within: .seconds(2), every: .milliseconds(20)) {
                    try await inner.status(of: name).isHeld == false
                }
                #expect(freed, "a lease whose answer was dropped stayed held by nobody (spared as claimed)")
            }
        }
    }
}

/// Passes every call to a real store; the first `grantsThenFails` acquires
/// run there but their replies are lost (unavailable), and every acquire
/// and give-back after them fails unsent until ``end()``: an outage that began as a
/// grant's reply was on its way.
final class OutageStore: ForwardingLockStore {
    let inner: any LockStore
    private let state: Mutex<(lostReplies: Int, down: Bool, grants: [Lease])>

    init(_ inner: any LockStore, grantsThenFails: Int) {
        self.inner = inner
        self.state = Mutex((grantsThenFails, true, []))
    }

    var grantsSeen: [Lease] { state.withLock { $0.grants } }

    /// The outage ends: acquires reach the store again.
    func end() { state.withLock { $0.down = false } }

    nonisolated(nonsending) func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        let (losesReply, down) = state.withLock { state -> (Bool, Bool) in
            guard state.lostReplies > 0 else { return (false, state.down) }
            state.lostReplies -= 1
            return (true, false)
        }
        if down { throw .unavailable("the store is unavailable") }
        let result = try await inner.acquire(attempt)
        guard losesReply else { return result }
        if case .granted(let lease, _, _) = result { state.withLock { $0.grants.append(lease) } }
        throw .unavailable("the reply was lost")
    }

    /// Give-backs fail too until ``end()``: the outage is the whole store's,
    /// so the give-back the 503 queues cannot run before the test has seen
    /// the lease it must end (on a busy machine it could, and did).
    nonisolated(nonsending) func giveBack(
        _ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool
    ) async throws(LockError) -> Bool {
        if state.withLock({ $0.down }) { throw .unavailable("the store is unavailable") }
        return try await inner.giveBack(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed)
    }
}
