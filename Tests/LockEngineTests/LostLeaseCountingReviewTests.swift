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
        let metrics = RecordingMetrics()
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
        #expect(metrics.holds.count == 1)
        await store.close()
    }
}
