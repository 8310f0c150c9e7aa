import CoreMetrics
import Dispatch
import LockdTestSupport
import LockdTransport
@testable import LockEngine
import Logging
import Synchronization
import Testing

/// The in-memory store counts the leases the engine delivers itself, in
/// place of the lease ledger (``LeaseCountingStore``): what it counts must
/// be what the ledger counted — a grant the engine does not deliver never,
/// a give-back's lease only if counted, an expiry once (at a drop, a sweep,
/// or a scrape's look, with the ledger's hold), the held count exact under
/// grants and releases from many threads.
@Suite struct InMemoryLeaseCountingTests {
    private static let second: UInt64 = 1_000_000_000

    /// A grant found too late to deliver (the caller's reading a whole TTL
    /// old) is given back uncounted: one hold is recorded, the delivered
    /// grant's, at its release — none at the give-back.
    @Test func aGrantTooLateToDeliverIsNeverCounted() async throws {
        try await Self.withEngine { engine, metrics in
            let name = try LockName(uniqueLockName())
            let before = MonotonicClock.now()
            let longAgo = before - min(before, 5_000 * 1_000_000)
            let grant = try #require(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 5_000), startedAt: longAgo))
            #expect(engine.metrics.leases.count == 1)
            #expect(metrics.holds.count == 0, "the late grant's give-back recorded a hold")
            #expect(try engine.releaseAtOnce(name, token: grant.lease.token))
            #expect(engine.metrics.leases.count == 0)
            #expect(metrics.holds.count == 1)
            #expect(metrics.counter("lockd_leases_expired_total") == 0)
        }
    }

    /// A caller that left before its answer (its cancellation set) has its
    /// grant given back: never counted.
    @Test func aCancelledCallersGrantIsNeverCounted() async throws {
        try await Self.withEngine { engine, metrics in
            let name = try LockName(uniqueLockName())
            let cancellation = CallCancellation()
            cancellation.cancel()
            let answered = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                engine.acquire(AcquireRequest(name: name, ttlMs: 60_000), cancellation: cancellation) { result in
                    continuation.resume(returning: (try? result.get()) != nil)
                }
            }
            #expect(!answered)
            let free = await eventually { (try? await engine.status(of: name).isHeld) == false }
            #expect(free, "the cancelled caller's grant was not given back")
            #expect(engine.metrics.leases.count == 0)
            #expect(metrics.holds.count == 0)
        }
    }

    /// The store's give-back says whether the lease it ended was counted,
    /// and records a counted one's hold; an uncounted one's, none.
    @Test func aGiveBackSaysWhetherItsLeaseWasCounted() throws {
        let metrics = RecordingMetrics()
        let store = InMemoryLockStore()
        store.countLeases(reportingTo: metrics.handles)
        let name = try LockName(uniqueLockName())
        let counted = try Self.grant(store, name, ttlMs: 60_000, countingFrom: MonotonicClock.now())
        #expect(store.countedLeases == 1)
        let given = store.giveBackCountingAtOnce(name, token: counted.token, grant: .fence(counted.fence), evenIfClaimed: false)
        #expect(given.ended && given.counted)
        #expect(store.countedLeases == 0)
        #expect(metrics.holds.count == 1)
        let uncounted = try Self.grant(store, name, ttlMs: 60_000, countingFrom: 0)
        #expect(store.countedLeases == 0)
        let again = store.giveBackCountingAtOnce(name, token: uncounted.token, grant: .fence(uncounted.fence), evenIfClaimed: false)
        #expect(again.ended && !again.counted)
        #expect(metrics.holds.count == 1, "an uncounted lease's give-back recorded a hold")
        let none = store.giveBackCountingAtOnce(name, token: uncounted.token, grant: .any, evenIfClaimed: true)
        #expect(!none.ended && !none.counted)
    }

    /// An undelivered answer's grant given back through the engine counts
    /// as released, once, and no longer as held.
    @Test func aDeliveredGrantGivenBackCountsAsReleased() async throws {
        try await Self.withEngine { engine, metrics in
            let name = try LockName(uniqueLockName())
            let grant = try #require(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 60_000)))
            #expect(engine.metrics.leases.count == 1)
            engine.giveBackUndelivered(grant)
            let released = await eventually { metrics.counter("lockd_leases_ended_total", reason: "released") == 1 }
            #expect(released)
            #expect(engine.metrics.leases.count == 0)
            #expect(metrics.holds.count == 1)
            engine.metrics.collectExpiredLeases()
            #expect(metrics.gauge("lockd_locks_held") == 0)
        }
    }

    /// A counted lease that runs out is counted expired once, with the
    /// ledger's hold (its TTL, to the nanosecond): by a scrape's look once
    /// the ledger's grace is past (not before), by a sweep that drops its
    /// record, and by a touch of its name.
    @Test func anExpiryIsCountedOnceByALookASweepOrATouch() async throws {
        let metrics = RecordingMetrics()
        let store = InMemoryLockStore()
        store.countLeases(reportingTo: metrics.handles)
        let start = MonotonicClock.now()
        let looked = try LockName(uniqueLockName())
        let swept = try LockName(uniqueLockName())
        let touched = try LockName(uniqueLockName())
        let expiresAt = try [looked, swept, touched].map { try Self.grant(store, $0, ttlMs: 1, countingFrom: start).expiresAtMs }.max() ?? 0
        #expect(store.countedLeases == 3)
        let expired = await eventually { WallClock.milliseconds() > expiresAt }
        try #require(expired)
        // Run out, but within the ledger's grace: still held at a look.
        store.countExpiredLeases(now: start + Self.second / 2)
        #expect(store.countedLeases == 3)
        #expect(metrics.gauge("lockd_locks_held") == 3)
        #expect(metrics.counter("lockd_leases_expired_total") == 0)
        // A touch of the name counts it at once.
        _ = try Self.grant(store, touched, ttlMs: 60_000, countingFrom: 0)
        #expect(store.countedLeases == 2)
        #expect(metrics.counter("lockd_leases_expired_total") == 1)
        // The grace past: the look counts both left, once.
        store.countExpiredLeases(now: start + 2 * Self.second)
        store.countExpiredLeases(now: start + 3 * Self.second)
        #expect(store.countedLeases == 0)
        #expect(metrics.gauge("lockd_locks_held") == 0)
        #expect(metrics.counter("lockd_leases_expired_total") == 3)
        #expect(metrics.holds.values == [1_000_000, 1_000_000, 1_000_000])

        // A sweep (every 4 096 operations at least) drops an expired
        // record: its counted lease is counted then, before any look.
        let other = InMemoryLockStore()
        let sweptMetrics = RecordingMetrics()
        other.countLeases(reportingTo: sweptMetrics.handles)
        // Beside it, a semaphore's two counted leases and a lease renewed
        // down (the record's summary of a sole lease must not serve them).
        let sweptStart = MonotonicClock.now()
        let sweptExpiry = try Self.grant(other, swept, ttlMs: 1, countingFrom: sweptStart).expiresAtMs
        let semaphore = try LockName(uniqueLockName())
        _ = try Self.grant(other, semaphore, ttlMs: 1, countingFrom: sweptStart, limit: 2)
        let semaphoreExpiry = try Self.grant(other, semaphore, ttlMs: 1, countingFrom: sweptStart, limit: 2).expiresAtMs
        let renewed = try LockName(uniqueLockName())
        let long = try Self.grant(other, renewed, ttlMs: 50, countingFrom: sweptStart - 10_000_000)
        let renewal = try #require(try await other.renew(renewed, token: long.token, ttlMs: 1, durability: .primary))
        #expect(other.countedLeases == 4)
        let past = await eventually { WallClock.milliseconds() > max(sweptExpiry, semaphoreExpiry, renewal.expiresAtMs, long.expiresAtMs) }
        try #require(past)
        for index in 0..<(InMemoryLockStore.minimumSweepInterval + 1) {
            _ = try Self.grant(other, try LockName("counting-sweep-\(index)"), ttlMs: 60_000, countingFrom: 0)
        }
        #expect(other.recordCount == InMemoryLockStore.minimumSweepInterval + 1, "no sweep dropped the expired records")
        #expect(other.countedLeases == 0)
        #expect(sweptMetrics.counter("lockd_leases_expired_total") == 4)
        let holds = sweptMetrics.holds.values.sorted()
        #expect(holds.prefix(3) == [1_000_000, 1_000_000, 1_000_000])
        // Renewed down 10 ms or more after its start, to 1 ms from then: not its first 50 ms.
        #expect(holds.count == 4 && holds[3] >= 11_000_000 && holds[3] != 50_000_000, "the renewed lease's hold: \(holds)")
        other.countExpiredLeases(now: sweptStart + 10 * Self.second)
        #expect(sweptMetrics.counter("lockd_leases_expired_total") == 4, "the look counted a swept lease again")
    }

    /// Grants and releases from several threads at once, on names of their
    /// own and on names they share (semaphores of 4): the held count is the
    /// model's (grants delivered less releases), and so is the gauge a
    /// scrape sets; each release recorded one hold.
    @Test func theHeldCountFollowsBurstsFromManyThreadsAsAModelSays() async throws {
        try await Self.withEngine(loopCount: 2) { engine, metrics in
            let threads = 4
            let rounds = 2_000
            let shared = try (0..<8).map { try LockName("counting-shared-\($0)-\(uniqueLockName())") }
            let tallies = Mutex<(granted: Int, released: Int)>((0, 0))
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                var held: [(LockName, LeaseToken)] = []
                var granted = 0
                var released = 0
                var random = SystemRandomNumberGenerator()
                for round in 0..<rounds {
                    let name = round % 3 == 0 ? shared[Int.random(in: 0..<shared.count, using: &random)]
                        : try! LockName("counting-\(thread)-\(round)-\(uniqueLockName())")
                    let limit = round % 3 == 0 ? 4 : 1
                    if let grant = try? engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 60_000, limit: limit)) {
                        granted += 1
                        held.append((name, grant.lease.token))
                    }
                    if !held.isEmpty, Bool.random(using: &random) {
                        let (name, token) = held.remove(at: Int.random(in: 0..<held.count, using: &random))
                        if (try? engine.releaseAtOnce(name, token: token)) == true { released += 1 }
                    }
                }
                tallies.withLock { $0 = ($0.granted + granted, $0.released + released) }
            }
            let (granted, released) = tallies.withLock { $0 }
            #expect(granted > threads * rounds / 2)
            #expect(engine.metrics.leases.count == granted - released)
            engine.metrics.collectExpiredLeases()
            #expect(metrics.gauge("lockd_locks_held") == Double(granted - released))
            #expect(metrics.holds.count == released)
            #expect(metrics.counter("lockd_leases_ended_total", reason: "released") == Double(released))
        }
    }

    // MARK: Helpers

    private static func grant(_ store: InMemoryLockStore, _ name: LockName, ttlMs: Int64, countingFrom heldSince: UInt64,
                              limit: Int = 1) throws -> Lease {
        let attempt = AcquireAttempt(name: name, token: .random(), ttlMs: ttlMs, owner: nil, waiter: nil, mode: .exclusive, limit: limit,
                                     client: nil, durability: .primary, lockDelayMs: 0, nonce: nil)
        guard case .granted(let lease, _, _) = try store.acquireAtOnce(attempt, countingFrom: heldSince) else {
            throw LockError.unavailable("not granted")
        }
        return lease
    }

    private static func withEngine(loopCount: Int = 1, _ body: (LockEngine, RecordingMetrics) async throws -> Void) async throws {
        let loops = try EventLoopGroup(loopCount: loopCount, namePrefix: "lease-counting")
        defer { loops.shutdown() }
        let metrics = RecordingMetrics()
        let store = InMemoryLockStore()
        let engine = LockEngine(store: store, loops: loops, metrics: LockMetrics(factory: metrics), logger: Logger(label: "test"))
        let runner = Task { await engine.run() }
        defer { runner.cancel() }
        await store.waitForEvents(timeout: .seconds(10))
        try await body(engine, metrics)
        await store.close()
    }
}
