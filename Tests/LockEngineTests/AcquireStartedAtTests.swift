import LockdTestSupport
import LockdTransport
@testable import LockEngine
import Testing

/// An in-place acquire whose caller read the clock as it began
/// (`acquireAtOnce(_:startedAt:)`, as the API does) measures its first
/// attempt from that reading: the grant must reach its client by then plus
/// nine tenths of its TTL, and its hold counts from it. A reading already
/// too old for its grant has that grant given back, and the next attempt
/// reads the clock itself.
@Suite struct AcquireStartedAtTests {
    @Test func theFirstAttemptIsMeasuredFromTheCallersReading() async throws {
        try await StoreKind.memory.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let started = MonotonicClock.now()
            let grant = try #require(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 5_000), startedAt: started))
            #expect(grant.deliverBy == LockEngine.deliverBy(askedAt: started, ttlMs: 5_000))
            #expect(engine.metrics.leases.count == 1)
            #expect(try engine.releaseAtOnce(name, token: grant.lease.token))
            #expect(engine.metrics.leases.count == 0)
        }
    }

    @Test func aReadingTooOldForItsGrantHasTheGrantGivenBackAndTriedAnew() async throws {
        try await StoreKind.memory.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let before = MonotonicClock.now()
            // A whole TTL ago: the first grant is due before it is made.
            let longAgo = before - min(before, 5_000 * 1_000_000)
            let grant = try #require(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 5_000), startedAt: longAgo))
            #expect(grant.deliverBy >= LockEngine.deliverBy(askedAt: before, ttlMs: 5_000), "the grant was measured from the old reading")
            // The late first grant went back: the name has the one holder, the second grant.
            #expect(try await engine.status(of: name).holders.map(\.fence) == [grant.lease.fence])
            #expect(engine.metrics.leases.count == 1)
        }
    }
}
