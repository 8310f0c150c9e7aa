import LockdTestSupport
import LockEngine
import LockdTransport
import Synchronization
import Testing

/// A grant that arrives after most of its TTL has passed — lockd paused
/// between the store's answer and its own — is never handed out.
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
}

/// Passes every call to a real store, but stalls after the first `stalls`
/// grants — as if lockd were paused between the store's answer and its own.
final class StalledStore: LockStore {
    private let inner: any LockStore
    private let stall: Duration
    private let state: Mutex<(remaining: Int, grants: [Lease])>

    init(_ inner: any LockStore, stalls: Int, stall: Duration) {
        self.inner = inner
        self.stall = stall
        self.state = Mutex((stalls, []))
    }

    var grantsSeen: [Lease] { state.withLock { $0.grants } }

    func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        let result = try await inner.acquire(attempt)
        guard case .granted(let lease, _, _) = result else { return result }
        let mustStall = state.withLock { state -> Bool in
            state.grants.append(lease)
            guard state.remaining > 0 else { return false }
            state.remaining -= 1
            return true
        }
        if mustStall { try? await Task.sleep(for: stall) }
        return result
    }

    func renew(_ name: LockName, token: LeaseToken, ttlMs: Int64?) async throws(LockError) -> Lease? {
        try await inner.renew(name, token: token, ttlMs: ttlMs)
    }
    func release(_ name: LockName, token: LeaseToken) async throws(LockError) -> Bool {
        try await inner.release(name, token: token)
    }
    func status(of name: LockName) async throws(LockError) -> LockStatus { try await inner.status(of: name) }
    func list(prefix: String, limit: Int, cursor: String?) async throws(LockError) -> LockPage {
        try await inner.list(prefix: prefix, limit: limit, cursor: cursor)
    }
    func removeWaiter(_ waiter: WaiterID, from name: LockName) async throws(LockError) {
        try await inner.removeWaiter(waiter, from: name)
    }
    func beat(names: Set<LockName>) async throws(LockError) -> Bool { try await inner.beat(names: names) }
    func reconcile(_ queues: [LocalQueue]) async throws(LockError) -> [QueueRepair] { try await inner.reconcile(queues) }
    func deliverEvents(to handler: @escaping @Sendable (StoreEvent) -> Void) async {}
    func checkReady() async throws(LockError) { try await inner.checkReady() }
    func close() async {}
}
