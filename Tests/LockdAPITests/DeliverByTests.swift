import Dispatch
@testable import LockEngine
import LockdAPI
import LockdHTTP
import LockdRedis
import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

/// No dead grants (PRODUCT.md), where the fault soak found one: a grant is
/// checked as still deliverable when the store's answer comes, but written
/// only when the request's job runs on its loop — after the rest of the
/// loop's batch, or a stop (SIGSTOP) that lands in between. A grant not
/// written by its deliver-by instant is given back (counted released,
/// watchers hear `released`) and answered 503, on both stores, for every
/// kind of grant; a renewal that late is answered 503 and stays held.
@Suite struct DeliverByTests {
    private static let ttlMs: Int64 = 2_000

    private static func acquire(_ name: LockName, waitMs: Int, limit: Int, mode: String) -> String {
        let body = #"{"ttl_ms":\#(ttlMs),"wait_ms":\#(waitMs),"limit":\#(limit),"mode":"\#(mode)"}"#
        return "POST /locks/\(name.value) HTTP/1.1\r\nHost: lockd\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
    }

    /// A waiting acquire (its own attempt's grant resumes its task on the
    /// loop) and one that does not wait (its promise, kept off the loop,
    /// queues the write there), for a lock, a semaphore and a shared lease:
    /// the loop is held from just after the engine's check until the
    /// grant's deliver-by instant has passed.
    @Test(arguments: StoreKind.allCases, [(5_000, 1, "exclusive"), (0, 1, "exclusive"), (5_000, 3, "exclusive"), (5_000, 1, "shared")])
    func aGrantHeldUpPastItsDeliverByIsGivenBackAndAnswered503(store: StoreKind, kind: (waitMs: Int, limit: Int, mode: String)) async throws {
        try await Self.withRig(store) { rig in
            let name = try LockName(uniqueLockName())
            let seen = try await rig.watch(name)
            let client = try RawHTTPClient(port: rig.port)
            defer { client.close() }
            try client.send(Self.acquire(name, waitMs: kind.waitMs, limit: kind.limit, mode: kind.mode))
            let response = try await client.readResponse(timeout: .seconds(10))
            #expect(response.status == 503, "a grant written after its deliver-by instant: \(response.status) \(response.text)")
            #expect(response.text.contains(#""type":"unavailable""#), "\(response.text)")
            #expect(response.header("Retry-After") != nil)
            let loopWasHeld = rig.store.held.load(ordering: .relaxed)
            #expect(loopWasHeld, "the loop was never held after a grant")
            let fence = try #require(rig.store.grantedFence)

            let free = try await eventually(within: .seconds(5)) { try await rig.engine.status(of: name).holders.isEmpty }
            #expect(free, "the grant answered 503 is still held")
            let ended = await eventually(within: .seconds(5)) { seen.kinds(of: fence).contains(.released) }
            #expect(ended, "watchers heard \(seen.kinds(of: fence)) for the grant given back")
            #expect(seen.kinds(of: fence) == [.acquired, .released])
            #expect(rig.engine.metrics.leases.count == 0, "lockd_locks_held still counts the grant given back")
        }
    }

    /// A renewal answered after its deliver-by instant is answered 503, and
    /// its lease is not given back: its holder had it before it asked, and
    /// may renew again (its lease lives on until its new expiry).
    @Test(arguments: StoreKind.allCases)
    func aRenewalHeldUpPastItsDeliverByIsAnswered503AndStaysHeld(store: StoreKind) async throws {
        try await Self.withRig(store) { rig in
            let name = try LockName(uniqueLockName())
            rig.store.stallGrants.store(false, ordering: .relaxed)
            let grant = try await rig.engine.acquire(AcquireRequest(name: name, ttlMs: Self.ttlMs, waitMs: 0))
            let client = try RawHTTPClient(port: rig.port)
            defer { client.close() }
            let body = #"{"ttl_ms":\#(Self.ttlMs)}"#
            let renew = "POST /locks/\(name.value)/renew HTTP/1.1\r\nHost: lockd\r\nLock-Token: \(grant.lease.token.value)\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
            rig.store.stallRenewals.store(true, ordering: .relaxed)
            try client.send(renew)
            let late = try await client.readResponse(timeout: .seconds(10))
            #expect(late.status == 503, "a renewal written after its deliver-by instant: \(late.status) \(late.text)")
            #expect(late.text.contains(#""type":"unavailable""#), "\(late.text)")
            #expect(try await rig.engine.status(of: name).holders.map(\.fence) == [grant.lease.fence])

            rig.store.stallRenewals.store(false, ordering: .relaxed)
            try client.send(renew)
            let again = try await client.readResponse()
            #expect(again.status == 200, "\(again.text)")
            #expect(again.text.contains(#""fence":\#(grant.lease.fence)"#), "\(again.text)")
        }
    }

    /// An engine over ``StalledAnswerStore`` on `store`, behind an HTTP
    /// server on the same single loop (as lockd's Redis connections share
    /// their loop with the requests they serve).
    private static func withRig(_ store: StoreKind, _ body: (Rig) async throws -> Void) async throws {
        try await store.withStore { inner, loops, backend in
            let logger = Logger(label: "deliver-by")
            let stalled = StalledAnswerStore(inner, loop: loops.next())
            let metrics = LockdMetrics(store: store.rawValue)
            let engine = LockEngine(store: stalled, loops: loops, upkeepLoop: backend?.upkeepLoop, metrics: metrics.lock, logger: logger)
            let api = metrics.api(engine: engine, redis: nil, accessLog: nil) { 0 }
            let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: api.responder,
                                    eventLoopGroup: loops, logger: logger, observer: api.observer)
            let runner = Task { await engine.run() }
            defer { runner.cancel() }
            let rig = Rig(engine: engine, store: stalled, port: try server.start()[0].port)
            do {
                try await body(rig)
            } catch {
                await server.shutdown(gracePeriod: .seconds(1))
                throw error
            }
            await server.shutdown(gracePeriod: .seconds(1))
        }
    }

    private struct Rig: Sendable {
        let engine: LockEngine
        let store: StalledAnswerStore
        let port: UInt16

        /// `name`'s events, as watchers hear them.
        func watch(_ name: LockName) async throws -> HeardEvents {
            let heard = HeardEvents()
            _ = await engine.watchEvents(engine.events.makeWatchID(), prefix: name.value, within: .all) { delivery in
                heard.append(delivery.event)
                return true
            }
            return heard
        }
    }
}

/// Passes every call to a real store and keeps its leases there for a
/// minute (the engine still sees the TTL asked for: its deliver-by instant
/// comes from that). Its first grant it answers off the loop while holding
/// the loop, from just after the engine's check until the grant's
/// deliver-by instant has passed — as if lockd were stopped there — so
/// that what the answer resumed (a waiting acquire's task, a promise's
/// write) runs only after it. With ``stallRenewals``, a renewal returns
/// only once its deliver-by instant has passed. Each counts that instant
/// (``LockEngine/deliverBy(askedAt:ttlMs:)``) from its own call, so lockd's,
/// counted from before it called, has passed too.
private final class StalledAnswerStore: ForwardingLockStore {
    let inner: any LockStore
    private let loop: EventLoop
    /// The loop was held after a grant.
    let held = Atomic<Bool>(false)
    /// Whether the first grant is answered while the loop is held.
    let stallGrants = Atomic<Bool>(true)
    /// Whether renewals return only once their deliver-by instant has passed.
    let stallRenewals = Atomic<Bool>(false)
    private let fence = Mutex<Int64?>(nil)
    private static let keptMs: Int64 = 60_000

    /// The fence of the grant answered while the loop was held.
    var grantedFence: Int64? { fence.withLock { $0 } }

    init(_ inner: any LockStore, loop: EventLoop) {
        self.inner = inner
        self.loop = loop
    }

    func acquire(_ attempt: AcquireAttempt, cancellation: CallCancellation, completion: @escaping StoreCompletion<AcquireResult>) {
        let askedAt = MonotonicClock.now()
        Task { [self] in
            let result: Result<AcquireResult, LockError>
            do throws(LockError) {
                result = .success(try await inner.acquire(attempt))
            } catch {
                result = .failure(error)
            }
            guard case .success(.granted(let lease, _, _)) = result, stallGrants.load(ordering: .relaxed), fence.withLock({ fence in
                defer { fence = fence ?? lease.fence }
                return fence == nil
            }) else { return completion(result) }
            let kept = try? await inner.renew(attempt.name, token: attempt.token, ttlMs: Self.keptMs, durability: attempt.durability)
            #expect(kept != nil, "the lease just granted was gone before it could be kept")
            let deliverBy = LockEngine.deliverBy(askedAt: askedAt, ttlMs: attempt.ttlMs)
            let holding = DispatchSemaphore(value: 0)
            let answered = DispatchSemaphore(value: 0)
            loop.execute { [self] in
                holding.signal()
                held.store(true, ordering: .relaxed)
                _ = answered.wait(timeout: .now() + 10)
                waitUntil(deliverBy)
            }
            await offThePool {
                _ = holding.wait(timeout: .now() + 10)
                completion(result)
                answered.signal()
            }
        }
    }

    nonisolated(nonsending) func renew(
        _ name: LockName, token: LeaseToken, ttlMs: Int64?, durability: Durability
    ) async throws(LockError) -> Lease? {
        guard stallRenewals.load(ordering: .relaxed) else { return try await inner.renew(name, token: token, ttlMs: ttlMs, durability: durability) }
        let askedAt = MonotonicClock.now()
        guard var lease = try await inner.renew(name, token: token, ttlMs: Self.keptMs, durability: durability) else { return nil }
        guard let ttlMs else {
            Issue.record("the test renews with a ttl_ms")
            return nil
        }
        lease.ttlMs = ttlMs
        lease.expiresAtMs = WallClock.milliseconds() + lease.ttlMs
        let deliverBy = LockEngine.deliverBy(askedAt: askedAt, ttlMs: lease.ttlMs)
        await offThePool { waitUntil(deliverBy) }
        return lease
    }

    // Events go to the engine over this wrapper (the inner store has none of its own).
    var mayHaveEventWatchers: Bool { inner.mayHaveEventWatchers }
    func mayWatch(_ name: LockName) -> Bool { inner.mayWatch(name) }
    func setWatchedPrefixes(_ prefixes: [String]) { inner.setWatchedPrefixes(prefixes) }
    func publish(_ event: LockEvent) { inner.publish(event) }
    func setEventInterest(_ interested: Bool) { inner.setEventInterest(interested) }
    func waitForEvents(timeout: Duration) async { await inner.waitForEvents(timeout: timeout) }
    func deliverEvents(to handler: @escaping @Sendable (StoreEvent) -> Void) async { await inner.deliverEvents(to: handler) }
}

/// The events a watcher heard.
private final class HeardEvents: Sendable {
    private let events = Mutex<[LockEvent]>([])

    func append(_ event: LockEvent) { events.withLock { $0.append(event) } }

    /// The kinds of the events heard of the lease with `fence`, in order.
    func kinds(of fence: Int64) -> [LockEvent.Kind] { events.withLock { $0.filter { $0.fence == fence }.map(\.kind) } }
}

/// Blocks the calling thread until the monotonic clock reaches `instant`:
/// the condition this waits on is the clock itself.
private func waitUntil(_ instant: UInt64) {
    let never = DispatchSemaphore(value: 0)
    while case let now = MonotonicClock.now(), now < instant {
        _ = never.wait(timeout: .now() + .nanoseconds(Int(instant - now)))
    }
}
