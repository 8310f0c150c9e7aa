import LockdRedis
import LockdTransport
import Testing

@testable import LockEngine

/// Store times placed on lockd's monotonic clock, erring early — per node:
/// in a Redis Cluster each master reads its own clock.
@Suite struct StoreClockOffsetTests {
    @Test func eachNodeKeepsItsOwnBound() {
        let offsets = StoreClockOffset()
        let behind = RedisEndpoint(host: "127.0.0.1", port: 7000)
        let ahead = RedisEndpoint(host: "127.0.0.1", port: 7001)
        let sent = MonotonicClock.now()
        let sentMs = Int64(sent / 1_000_000)
        // One node's clock reads 1 s ahead of the other's.
        offsets.sample(storeMs: sentMs + 10_000, sentAt: sent, source: behind)
        offsets.sample(storeMs: sentMs + 11_000, sentAt: sent, source: ahead)
        // A grant the ahead node stamped now is placed no later than now —
        // with the other node's bound it would seem a second younger.
        let now = MonotonicClock.now()
        let placed = offsets.monotonic(ofStoreMs: sentMs + 11_000 + Int64((now - sent) / 1_000_000), source: ahead)
        #expect(placed <= now)
        #expect(placed + 500_000_000 > now, "placed far too early: \(now - placed) ns")
        // A node never heard from: as old as can be.
        #expect(offsets.monotonic(ofStoreMs: sentMs + 11_000, source: RedisEndpoint(host: "127.0.0.1", port: 7002)) == 0)
    }
}
