import LockdTestSupport
import LockdTransport
import LockEngine
import Synchronization
import Testing

/// A waiting acquire answered through the engine's callback form (what
/// lockd answers a lock request with): on Redis its first attempt, in its
/// waiting form, is made without a task and a free name's grant answers it
/// from that reply; a request that finds the name held waits in its place
/// in the queue, as before.
@Suite struct WaitingFirstReplyTests {
    /// Fails on a build where every waiting acquire ran in a task: the
    /// answer then came from that task, not from the store's reply.
    @Test func aFreeNamesWaitingAcquireOnRedisIsAnsweredFromItsFirstReplyWithoutATask() async throws {
        try await StoreKind.redis.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let answered = Answered()
            engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 5_000, owner: "first-reply"),
                           cancellation: CallCancellation()) { result in
                answered.set(result, inTask: withUnsafeCurrentTask { $0 != nil })
            }
            let done = await eventually(within: .seconds(10)) { answered.value != nil }
            #expect(done, "the waiting acquire of a free name was not answered")
            guard let (result, inTask) = answered.value, case .success(let grant) = result else {
                Issue.record("the free name was not granted: \(String(describing: answered.value))")
                return
            }
            #expect(!inTask, "answered from a task, not from the store's reply")
            #expect(grant.lease.name == name)
            #expect(grant.lease.ttlMs == 30_000)
            #expect(grant.lease.owner == "first-reply")
            #expect(grant.lease.fence > 0)
            #expect(!grant.isRetry)
            #expect(grant.lockdMadeToken)
            #expect(try await engine.status(of: name).holders.map(\.fence) == [grant.lease.fence])
            #expect(try await engine.status(of: name).waiting == 0, "the granted request was left in the queue")
            #expect(engine.waiterCount == 0, "the granted request was left in the registry")
        }
    }

    /// A waiting acquire that finds the name held is queued behind an
    /// earlier waiter by its first attempt, and handed the name after it.
    @Test(arguments: StoreKind.allCases)
    func aWaitingAcquireThatFindsTheNameHeldIsHandedItAfterAnEarlierWaiter(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let holder = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            let earlier = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 20_000, owner: "earlier")) }
            try await engine.untilQueued(1, on: name)
            let later = Answered()
            engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 20_000, owner: "later"), cancellation: CallCancellation()) {
                later.set($0, inTask: false)
            }
            try await engine.untilQueued(2, on: name)
            #expect(later.value == nil, "the later waiter was answered while the name was held")
            try await engine.release(name, token: holder.lease.token)
            let first = try await earlier.value
            #expect(first.lease.owner == "earlier")
            #expect(later.value == nil, "the later waiter passed the earlier one")
            try await engine.release(name, token: first.lease.token)
            let handed = await eventually(within: .seconds(10)) { later.value != nil }
            #expect(handed, "the later waiter was never handed the name")
            guard case .success(let second)? = later.value?.result else {
                Issue.record("the later waiter was answered \(String(describing: later.value))")
                return
            }
            #expect(second.lease.owner == "later")
            #expect(second.lease.fence > first.lease.fence)
            #expect(try await engine.status(of: name).holders.map(\.fence) == [second.lease.fence])
            let registryEmpty = await eventually(within: .seconds(5)) { engine.waiterCount == 0 }
            #expect(registryEmpty)
        }
    }

    /// A waiting acquire under a token that holds the name already is a
    /// retry: the same lease, answered as one.
    @Test(arguments: StoreKind.allCases)
    func aWaitingAcquireUnderTheHoldersTokenIsARetry(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let token = try LeaseToken("waiting-first-reply-token-0001")
            let held = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, token: token))
            let answered = Answered()
            engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 5_000, token: token), cancellation: CallCancellation()) {
                answered.set($0, inTask: false)
            }
            let done = await eventually(within: .seconds(10)) { answered.value != nil }
            #expect(done)
            guard case .success(let retried)? = answered.value?.result else {
                Issue.record("the retry was answered \(String(describing: answered.value))")
                return
            }
            #expect(retried.isRetry)
            #expect(retried.lease.fence == held.lease.fence)
            #expect(retried.lease.ttlMs == 30_000)
            #expect(try await engine.status(of: name).waiting == 0)
        }
    }

    /// Redis stopped: the first attempt is written and not answered. The
    /// caller cancelled (its client hung up) is answered `cancelled`; once
    /// Redis runs again, whatever that attempt was granted is given back
    /// and the request leaves no place in the queue.
    @Test func aWaitingAcquireCancelledBeforeItsFirstReplyLeavesNoLeaseAndNoPlace() async throws {
        try await PausableRedisRig.withEngine(loopPrefix: "waiting-first-reply") { engine, server in
            let name = try LockName(uniqueLockName())
            server.pause()
            let cancellation = CallCancellation()
            let answered = Answered()
            engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 10_000), cancellation: cancellation) {
                answered.set($0, inTask: false)
            }
            #expect(answered.value == nil)
            cancellation.cancel()
            let done = await eventually(within: .seconds(10)) { answered.value != nil }
            #expect(done, "the cancelled caller was not answered")
            if case .failure(.cancelled)? = answered.value?.result {} else {
                Issue.record("answered \(String(describing: answered.value)), not cancelled")
            }
            server.resume()
            var status: LockStatus?
            _ = await eventually(within: .seconds(10)) {
                status = try? await engine.status(of: name)
                return status.map { !$0.isHeld && $0.waiting == 0 } ?? false
            }
            #expect(status?.isHeld == false, "the grant Redis made after the caller left was not given back")
            #expect(status?.waiting == 0, "the cancelled request kept its place in the queue")
            #expect(engine.waiterCount == 0)
        }
    }

    // MARK: Helpers

    /// A callback's result, and whether it ran inside a task.
    private final class Answered: Sendable {
        private let state = Mutex<(result: Result<AcquireGrant, LockError>, inTask: Bool)?>(nil)
        func set(_ result: Result<AcquireGrant, LockError>, inTask: Bool) { state.withLock { $0 = (result, inTask) } }
        var value: (result: Result<AcquireGrant, LockError>, inTask: Bool)? { state.withLock { $0 } }
    }
}
