import CoreMetrics
import LockdTestSupport
import LockdTransport
@testable import LockEngine
import Logging
import Synchronization
import Testing

/// A renew or release that finds its lease gone (`lockd_leases_ended_total{reason="lost"}`)
/// ended that lease for the ledger at once: the next scrape counted it
/// expired (`lockd_leases_expired_total`, its hold recorded) and no longer
/// held (`lockd_locks_held`) — not a second later, when the ledger's grace
/// for a renewal in flight is past. The in-memory store, which counts its
/// leases itself (``LeaseCountingStore``), must show a scrape the same.
@Suite struct LostLeaseCountingReviewTests {
    @Test(arguments: [false, true])
    func aLeaseFoundGoneIsCountedExpiredAtTheNextScrape(byRelease: Bool) async throws {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "lost-counting")
        defer { loops.shutdown() }
        let metrics = LostCountingMetrics()
        let store = InMemoryLockStore()
        let engine = LockEngine(store: store, loops: loops, metrics: LockMetrics(factory: metrics), logger: Logger(label: "test"))
        let runner = Task { await engine.run() }
        defer { runner.cancel() }
        await store.waitForEvents(timeout: .seconds(10))

        let name = try LockName(uniqueLockName())
        let grant = try #require(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 200)))
        let expired = await eventually { WallClock.milliseconds() > grant.lease.expiresAtMs + 5 }
        try #require(expired)
        // Well within the ledger's second of grace past the TTL.
        if byRelease {
            #expect(throws: LockError.leaseLost) { _ = try engine.releaseAtOnce(name, token: grant.lease.token) }
        } else {
            await #expect(throws: LockError.leaseLost) { _ = try await engine.renew(name, token: grant.lease.token, ttlMs: nil) }
        }
        #expect(metrics.counter("lockd_leases_ended_total", reason: "lost") == 1)
        engine.metrics.collectExpiredLeases()
        #expect(metrics.gauge("lockd_locks_held") == 0, "a scrape still counts the lost lease held")
        #expect(metrics.counter("lockd_leases_expired_total") == 1, "a scrape does not count the lost lease expired")
        #expect(metrics.holdCount == 1)
        await store.close()
    }
}

/// Keeps what is reported, for the test to read.
private final class LostCountingMetrics: MetricsFactory, Sendable {
    private let counters = Mutex<[String: Values]>([:])
    private let gauges = Mutex<[String: Values]>([:])
    private let holds = Values()

    var holdCount: Int { holds.count }

    func counter(_ label: String, reason: String? = nil) -> Double {
        counters.withLock { $0[Self.key(label, reason.map { [("reason", $0)] } ?? [])]?.sum ?? 0 }
    }

    func gauge(_ label: String) -> Double? {
        gauges.withLock { $0[label]?.last }
    }

    private static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: ",")
    }

    final class Values: CounterHandler, RecorderHandler, TimerHandler, Sendable {
        private let state = Mutex<[Double]>([])
        var count: Int { state.withLock { $0.count } }
        var sum: Double { state.withLock { $0.reduce(0, +) } }
        var last: Double? { state.withLock { $0.last } }
        func increment(by amount: Int64) { state.withLock { $0.append(Double(amount)) } }
        func reset() { state.withLock { $0.removeAll() } }
        func record(_ value: Int64) { state.withLock { $0.append(Double(value)) } }
        func record(_ value: Double) { state.withLock { $0.append(value) } }
        func recordNanoseconds(_ duration: Int64) { state.withLock { $0.append(Double(duration)) } }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        counters.withLock { counters in
            let key = Self.key(label, dimensions)
            if let values = counters[key] { return values }
            let values = Values()
            counters[key] = values
            return values
        }
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        gauges.withLock { gauges in
            if let values = gauges[label] { return values }
            let values = Values()
            gauges[label] = values
            return values
        }
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        label == "lockd_hold_duration_seconds" ? holds : Values()
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
