import LockdTestSupport
import LockEngine
import LockdTransport
import Synchronization
import Testing

/// A grant that arrives after most of its TTL has passed — lockd paused
/// between the store's answer and its own — is never handed out; one whose
/// reply was lost in an outage is handed out once, as new.
@Suite struct DeadGrantTests {
    @Test(arguments: StoreKind.allCases)
    func aLateGrantIsReleasedAndAFreshOneDelivered(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            let slow = StalledStore(inner, stalls: 1, stall: .milliseconds(1_000))
            let loops = try EventLoopGroup(loopCount: 1)
            defer { loops.shutdown() }
            let stalled = LockEngine(store: slow, loops: loops, logger: .init(label: "test"))
            let name = try LockName(uniqueLockName())
            let grant = try await stalled.acquire(AcquireRequest(name: name, ttlMs: 1_000))
            #expect(slow.grantsSeen.count >= 2)
            #expect(grant.lease.fence > slow.grantsSeen[0].fence)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aStoreTooSlowForTheTTLGivesUnavailableAndLeavesNoLease(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            let slow = StalledStore(inner, stalls: .max, stall: .milliseconds(250))
            let loops = try EventLoopGroup(loopCount: 1)
            defer { loops.shutdown() }
            let stalled = LockEngine(store: slow, loops: loops, logger: .init(label: "test"))
            let name = try LockName(uniqueLockName())
            let error = await #expect(throws: LockError.self) {
                try await stalled.acquire(AcquireRequest(name: name, ttlMs: 200))
            }
            guard case .unavailable = error else {
                Issue.record("expected unavailable, got \(String(describing: error))")
                return
            }
            #expect(try await inner.status(of: name).isHeld == false)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aWaitersGrantWhoseReplyWasLostIsDeliveredAsNewNotAsARetry(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            let lossy = StalledStore(inner, stalls: 1, stall: .zero, thenFail: true)
            let loops = try EventLoopGroup(loopCount: 1)
            defer { loops.shutdown() }
            var configuration = LockEngineConfiguration()
            configuration.outageGrace = .milliseconds(200)
            let engine = LockEngine(store: lossy, configuration: configuration, loops: loops, logger: .init(label: "test"))
            let name = try LockName(uniqueLockName())
            // No token of the client's: the lease found under the request's
            // own token on the next attempt is the first one's grant.
            let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 5_000))
            #expect(!grant.isRetry)
            #expect(grant.lease.fence == lossy.grantsSeen[0].fence)
            #expect(try await inner.status(of: name).holders.map(\.fence) == [grant.lease.fence])
        }
    }

    /// A grant that reaches a caller who has gone is given back; when the
    /// store cannot take it back just then, it is given back once it can —
    /// not left for its whole TTL.
    @Test(arguments: StoreKind.allCases)
    func aGrantForAGoneCallerIsGivenBackOnceTheStoreServesAgain(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            let slow = StalledStore(inner, stalls: 1, stall: .seconds(60), releaseFailures: 1)
            let name = try LockName(uniqueLockName())
            try await slow.withRunningEngine { engine in
                try await slow.hangUpOnceGranted(engine, AcquireRequest(name: name, ttlMs: 60_000))
                let freed = try await eventually(within: .seconds(10)) { try await inner.status(of: name).isHeld == false }
                #expect(freed, "the lease was left for its TTL")
            }
        }
    }

    /// A no-wait acquire's first grant came too late, and had expired, when
    /// its give-back failed (an outage: queued); its next attempt, under the
    /// same token lockd made, was granted a fresh lease and delivered it.
    /// The queued give-back is of the first grant: it must not end the
    /// lease the client holds.
    @Test(arguments: StoreKind.allCases)
    func aQueuedGiveBackSparesALaterLeaseUnderTheSameToken(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            // Stalled past its TTL after the store granted it.
            let late = StalledStore(inner, stalls: 1, stall: .milliseconds(1_300), releaseFailures: 1)
            let loops = try EventLoopGroup(loopCount: 1)
            defer { loops.shutdown() }
            let engine = LockEngine(store: late, loops: loops, logger: .init(label: "test"))
            let name = try LockName(uniqueLockName())
            let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 1_000))
            #expect(late.grantsSeen.count == 2)
            #expect(grant.lease.fence > late.grantsSeen[0].fence, "the first grant was delivered after all")
            // The client keeps its lease: it renews it for a minute.
            let renewed = try await engine.renew(name, token: grant.lease.token, ttlMs: 60_000)
            #expect(renewed.fence == grant.lease.fence)
            // The upkeep then gives back what the first attempt queued.
            let givenBack = late.givenBack.load(ordering: .relaxed)
            let upkeep = Task { await engine.run() }
            defer { upkeep.cancel() }
            #expect(await eventually(within: .seconds(10)) { late.givenBack.load(ordering: .relaxed) > givenBack })
            #expect(try await inner.status(of: name).holders.map(\.fence) == [grant.lease.fence],
                    "a queued give-back of an expired grant ended the later lease its token holds")
        }
    }

    /// A no-wait acquire tries again under its own token when its grant
    /// came too late: a lease found there is that earlier attempt's (its
    /// give-back failed in an outage), new to the client, not a retry.
    @Test(arguments: StoreKind.allCases)
    func aLateGrantNotGivenBackIsDeliveredAsNewByTheNextAttempt(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            // Late past 90 % of the TTL; the lease it leaves has 2 s to be found.
            let late = StalledStore(inner, stalls: 1, stall: .milliseconds(1_850), beforeAsking: true, releaseFailures: 1)
            let loops = try EventLoopGroup(loopCount: 1)
            defer { loops.shutdown() }
            let engine = LockEngine(store: late, loops: loops, logger: .init(label: "test"))
            let name = try LockName(uniqueLockName())
            let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 2_000))
            #expect(!grant.isRetry)
            #expect(grant.lease.fence == late.grantsSeen[0].fence)
        }
    }

    /// The same, with every attempt late: the lease each one found under the
    /// request's token (claimed by asking again) is not the client's, so it
    /// must not outlive the 503 — though a give-back spares a claimed lease.
    @Test(arguments: StoreKind.allCases)
    func lateGrantsUnderTheRequestsOwnTokenLeaveNoLeaseBehind(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            let late = StalledStore(inner, stalls: 3, stall: .milliseconds(950), beforeAsking: true, releaseFailures: 1)
            let loops = try EventLoopGroup(loopCount: 1)
            defer { loops.shutdown() }
            let engine = LockEngine(store: late, loops: loops, logger: .init(label: "test"))
            let name = try LockName(uniqueLockName())
            let error = await #expect(throws: LockError.self) {
                try await engine.acquire(AcquireRequest(name: name, ttlMs: 1_000))
            }
            guard case .unavailable = error else {
                Issue.record("expected unavailable, got \(String(describing: error))")
                return
            }
            // What the engine queued to give back reaches the store too.
            let givenBack = late.givenBack.load(ordering: .relaxed)
            let upkeep = Task { await engine.run() }
            defer { upkeep.cancel() }
            #expect(await eventually(within: .seconds(10)) { late.givenBack.load(ordering: .relaxed) > givenBack })
            #expect(try await inner.status(of: name).isHeld == false, "a lease no client has was left for its TTL")
        }
    }
}

/// Passes every call to a real store, but stalls after the first `stalls`
/// grants — as if lockd were paused between the store's answer and its own —
/// and with `thenFail` reports them unavailable, as if the reply were lost;
/// with `beforeAsking`, it stalls the first `stalls` acquires before the
/// store sees them instead (a request held up on its way: its grant is
/// fresh but late); its first `releaseFailures` releases and give-backs
/// fail unsent, as in an outage.
final class StalledStore: ForwardingLockStore {
    let inner: any LockStore
    private let stall: Duration
    private let thenFail: Bool
    private let beforeAsking: Bool
    private let state: Mutex<(remaining: Int, grants: [Lease], releaseFailures: Int)>

    init(_ inner: any LockStore, stalls: Int, stall: Duration, thenFail: Bool = false, beforeAsking: Bool = false, releaseFailures: Int = 0) {
        self.inner = inner
        self.stall = stall
        self.thenFail = thenFail
        self.beforeAsking = beforeAsking
        self.state = Mutex((stalls, [], releaseFailures))
    }

    var grantsSeen: [Lease] { state.withLock { $0.grants } }

    /// Runs `body` with an engine over this store on one loop, its upkeep
    /// running (it gives back what a gone caller was granted).
    func withRunningEngine(_ body: (LockEngine) async throws -> Void) async throws {
        let loops = try EventLoopGroup(loopCount: 1)
        defer { loops.shutdown() }
        let engine = LockEngine(store: self, loops: loops, logger: .init(label: "test"))
        let runner = Task { await engine.run() }
        defer { runner.cancel() }
        try await body(engine)
    }

    /// Sends `request` and hangs up once the store granted it, before the
    /// caller is answered (this store stalls the first grant).
    func hangUpOnceGranted(_ engine: LockEngine, _ request: AcquireRequest) async throws {
        let caller = Task { try await engine.acquire(request) }
        #expect(await eventually(within: .seconds(10)) { self.grantsSeen.count == 1 })
        caller.cancel()
        await #expect(throws: LockError.self) { try await caller.value }
    }

    nonisolated(nonsending) func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        if beforeAsking {
            let mustStall = state.withLock { state -> Bool in
                guard state.remaining > 0 else { return false }
                state.remaining -= 1
                return true
            }
            if mustStall { try? await Task.sleep(for: stall) }
            let result = try await inner.acquire(attempt)
            if case .granted(let lease, _, _) = result { state.withLock { $0.grants.append(lease) } }
            return result
        }
        let result = try await inner.acquire(attempt)
        guard case .granted(let lease, _, _) = result else { return result }
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

    nonisolated(nonsending) func release(_ name: LockName, token: LeaseToken) async throws(LockError) -> Bool {
        try failIfDue()
        return try await inner.release(name, token: token)
    }
    nonisolated(nonsending) func giveBack(_ name: LockName, token: LeaseToken, fence: Int64?, evenIfClaimed: Bool) async throws(LockError) -> Bool {
        try failIfDue()
        let released = try await inner.giveBack(name, token: token, fence: fence, evenIfClaimed: evenIfClaimed)
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
