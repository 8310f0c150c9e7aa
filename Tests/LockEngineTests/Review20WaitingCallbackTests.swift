import LockdTestSupport
import LockdTransport
import LockEngine
import Synchronization
import Testing

/// review20 (wip-wait33): a waiting acquire answered through the engine's
/// callback form — on Redis its first attempt made without a task, a task
/// only for a request left queued — keeps every guarantee of the task path:
/// a caller gone at any stage leaves no lease and no place in the queue, a
/// release that comes between the first reply and the task's park is not
/// lost, and queued waiters are served in their order.
@Suite(.serialized) struct Review20WaitingCallbackTests {
    /// The name held; Redis stopped, so the first attempt (which queues the
    /// waiter when it runs) is not answered; the caller leaves. Once Redis
    /// runs again the queue holds no place of it, the registry no entry,
    /// and the holder's release hands the name to no one.
    @Test func aHeldNamesWaiterCancelledBeforeItsFirstReplyLeavesNoPlaceAndIsHandedNothing() async throws {
        try await PausableRedisRig.withEngine(loopPrefix: "review20-first-reply") { engine, server in
            let name = try LockName(uniqueLockName())
            let holder = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            server.pause()
            let cancellation = CallCancellation()
            let answered = Answered()
            engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 20_000), cancellation: cancellation) {
                answered.set($0)
            }
            try await Task.sleep(for: .milliseconds(50))
            #expect(answered.value == nil)
            cancellation.cancel()
            server.resume()
            let done = await eventually(within: .seconds(10)) { answered.value != nil }
            #expect(done, "the cancelled caller was not answered")
            if case .failure(.cancelled)? = answered.value {} else {
                Issue.record("answered \(String(describing: answered.value)), not cancelled")
            }
            let left = await eventually(within: .seconds(10)) { (try? await engine.status(of: name).waiting) == 0 }
            #expect(left, "the cancelled request kept its place in the queue")
            let unregistered = await eventually(within: .seconds(5)) { engine.waiterCount == 0 }
            #expect(unregistered, "the cancelled request kept its registry entry")
            try await engine.release(name, token: holder.lease.token)
            try await Task.sleep(for: .milliseconds(200))
            let status = try await engine.status(of: name)
            #expect(!status.isHeld, "the name was handed to the caller that left: \(status.holders.map(\.fence))")
        }
    }

    /// A queued (parked) waiter whose caller leaves: answered `cancelled`,
    /// no place left, no entry, and the holder's release hands it nothing.
    @Test(arguments: StoreKind.allCases)
    func aParkedCallbackWaiterCancelledLeavesNoPlace(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let holder = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            let cancellation = CallCancellation()
            let answered = Answered()
            engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 20_000), cancellation: cancellation) { answered.set($0) }
            try await engine.untilQueued(1, on: name)
            try await Task.sleep(for: .milliseconds(50))
            cancellation.cancel()
            let done = await eventually(within: .seconds(10)) { answered.value != nil }
            #expect(done)
            if case .failure(.cancelled)? = answered.value {} else { Issue.record("answered \(String(describing: answered.value))") }
            let left = await eventually(within: .seconds(10)) { (try? await engine.status(of: name).waiting) == 0 }
            #expect(left)
            let unregistered = await eventually(within: .seconds(5)) { engine.waiterCount == 0 }
            #expect(unregistered)
            try await engine.release(name, token: holder.lease.token)
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await engine.status(of: name).isHeld == false)
        }
    }

    /// The caller leaves at every stage (before the first reply, between
    /// it and the task, while parked), by racing its cancel with the first
    /// attempt: whatever it is answered, no lease or place is left behind.
    @Test(arguments: StoreKind.allCases)
    func aCallerLeavingAtAnyStageLeavesNothing(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            for round in 0..<30 {
                let name = try LockName(uniqueLockName())
                let holder = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
                let cancellation = CallCancellation()
                let answered = Answered()
                engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 20_000), cancellation: cancellation) { answered.set($0) }
                // From at once to ~1.5 ms: before, at and after the first reply.
                if round % 3 != 0 { try await Task.sleep(for: .microseconds(50 * round)) }
                cancellation.cancel()
                let done = await eventually(within: .seconds(10)) { answered.value != nil }
                #expect(done, "round \(round): not answered")
                if case .success? = answered.value { Issue.record("round \(round): granted a held name") }
                let left = await eventually(within: .seconds(10)) { (try? await engine.status(of: name).waiting) == 0 }
                #expect(left, "round \(round): a place was left in the queue")
                try await engine.release(name, token: holder.lease.token)
                try await Task.sleep(for: .milliseconds(30))
                let status = try await engine.status(of: name)
                #expect(!status.isHeld, "round \(round): the name was handed to a caller that left")
            }
            let unregistered = await eventually(within: .seconds(5)) { engine.waiterCount == 0 }
            #expect(unregistered, "entries left: \(engine.waiterCount)")
        }
    }

    /// The holder releases just as the waiter's first attempt runs: the
    /// waiter is granted at once or handed the name — never left waiting
    /// for a wake-up that came between its first reply and its park (it
    /// would then wait for its 20 s deadline: no recheck comes sooner,
    /// the holder's TTL being 60 s).
    @Test(arguments: StoreKind.allCases)
    func aReleaseRacingTheFirstReplyIsNotLost(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            for round in 0..<30 {
                let name = try LockName(uniqueLockName())
                let holder = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
                let answered = Answered()
                engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 20_000), cancellation: CallCancellation()) { answered.set($0) }
                if round % 3 != 0 { try await Task.sleep(for: .microseconds(50 * round)) }
                try await engine.release(name, token: holder.lease.token)
                let done = await eventually(within: .seconds(3)) { answered.value != nil }
                #expect(done, "round \(round): the waiter missed the release")
                guard case .success(let grant)? = answered.value else {
                    Issue.record("round \(round): answered \(String(describing: answered.value))")
                    continue
                }
                #expect(try await engine.status(of: name).holders.map(\.fence) == [grant.lease.fence])
                try await engine.release(name, token: grant.lease.token)
            }
            let unregistered = await eventually(within: .seconds(5)) { engine.waiterCount == 0 }
            #expect(unregistered)
        }
    }

    /// Four waiters through the callback form, queued in turn: each
    /// release hands the name to the next, in their order; a semaphore of
    /// two hands its two places in order too.
    @Test(arguments: StoreKind.allCases)
    func callbackWaitersAreServedInTheirOrder(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            for limit in [1, 2] {
                let name = try LockName(uniqueLockName())
                var holders: [AcquireGrant] = []
                for _ in 0..<limit { holders.append(try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, limit: limit))) }
                let answers = (0..<4).map { _ in Answered() }
                for (index, answered) in answers.enumerated() {
                    engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 20_000, owner: "w\(index)", limit: limit),
                                   cancellation: CallCancellation()) { answered.set($0) }
                    try await engine.untilQueued(index + 1, on: name)
                }
                var order: [String] = []
                var live = holders
                while order.count < 4 {
                    let released = live.removeFirst()
                    try await engine.release(name, token: released.lease.token)
                    let before = order.count
                    let next = await eventually(within: .seconds(5)) { answers.filter { $0.value != nil }.count > before }
                    #expect(next, "limit \(limit): no waiter was handed the name after \(order)")
                    try await Task.sleep(for: .milliseconds(50))
                    for answered in answers {
                        guard case .success(let grant)? = answered.value, let owner = grant.lease.owner, !order.contains(owner) else { continue }
                        order.append(owner)
                        live.append(grant)
                    }
                    if order.count == before { break }
                }
                #expect(order == ["w0", "w1", "w2", "w3"], "limit \(limit)")
                for grant in live { try await engine.release(name, token: grant.lease.token) }
            }
            let unregistered = await eventually(within: .seconds(5)) { engine.waiterCount == 0 }
            #expect(unregistered)
        }
    }

    /// A callback's result.
    private final class Answered: Sendable {
        private let state = Mutex<Result<AcquireGrant, LockError>?>(nil)
        func set(_ result: consuming Result<AcquireGrant, LockError>) {
            let result = copy result
            state.withLock { $0 = result }
        }
        var value: Result<AcquireGrant, LockError>? { state.withLock { $0 } }
    }
}
