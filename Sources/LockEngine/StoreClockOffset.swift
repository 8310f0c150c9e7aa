import LockdRedis
import LockdTransport
import Synchronization

/// Places times read from the store's clock (Redis `TIME`, ms since the
/// epoch) on this process's monotonic clock, erring early: a grant the
/// store made on its own (``HandedGrant``) is then never taken for younger
/// than it is, so no dead lease is delivered.
///
/// Each reply that carries the store's time gives a bound: the store read
/// its clock after the request was sent, so `store_ms - sent_ms` is at least
/// the offset between the two clocks. The smallest bound seen is kept, and
/// grows by ``driftPerSecond`` as it ages (the clocks' rates differ a
/// little); after a reconnection (perhaps another server, with another
/// clock) the next reply's bound replaces it whatever its size.
///
/// In a Redis Cluster every master has a clock of its own: each keeps its
/// own bound, by the node (`source`) that served the reply. One bound for
/// all would be the smallest of theirs, which places the times of a node
/// whose clock runs ahead too late — a grant would seem younger than it is.
final class StoreClockOffset: Sendable {
    private struct Bound {
        /// Store ms minus monotonic ms, at most.
        var offsetMs: Int64
        /// When it was measured (monotonic ns).
        var at: UInt64
        /// Measured before a reconnection: the next sample replaces it.
        var isStale = false
    }

    /// The one server's bound, and in a Cluster each node's. Apart, so that
    /// a single server's sample (one per acquire) hashes no key.
    private struct Bounds {
        var single: Bound?
        var byNode: [RedisEndpoint: Bound] = [:]

        subscript(source: RedisEndpoint?) -> Bound? {
            get { if let source { byNode[source] } else { single } }
            set {
                if let source { byNode[source] = newValue } else { single = newValue }
            }
        }
    }

    private let bounds = Mutex(Bounds())

    /// How much the bound is widened per second of age, in ms: 1 ‰, far
    /// more than two clocks kept by NTP drift apart.
    static let driftPerSecond: Int64 = 1

    /// Notes that a request sent at `sentAt` (monotonic ns) was served at
    /// `storeMs` on the clock of `source`.
    func sample(storeMs: Int64, sentAt: UInt64, source: RedisEndpoint? = nil) {
        let offset = storeMs - Int64(sentAt / 1_000_000)
        bounds.withLock { bounds in
            if let current = bounds[source], !current.isStale, Self.widened(current, at: sentAt) <= offset { return }
            bounds[source] = Bound(offsetMs: offset, at: sentAt)
        }
    }

    /// Lets the next sample replace the bound: the store may be another
    /// server now. (Until then the old bound serves, rather than none: with
    /// none every grant would count as too old to deliver.)
    func reset() {
        bounds.withLock { bounds in
            bounds.single?.isStale = true
            for source in bounds.byNode.keys { bounds.byNode[source]?.isStale = true }
        }
    }

    /// A monotonic time (ns) no later than the moment the clock of `source`
    /// read `storeMs`; 0 (as old as can be) when nothing has been measured there.
    func monotonic(ofStoreMs storeMs: Int64, source: RedisEndpoint? = nil) -> UInt64 {
        let now = MonotonicClock.now()
        guard let current = bounds.withLock({ $0[source] }) else { return 0 }
        let ms = storeMs - Self.widened(current, at: now)
        return ms > 0 ? UInt64(ms) * 1_000_000 : 0
    }

    private static func widened(_ bound: Bound, at time: UInt64) -> Int64 {
        let ageSeconds = Int64((time > bound.at ? time - bound.at : 0) / 1_000_000_000)
        return bound.offsetMs + (ageSeconds + 1) * driftPerSecond
    }
}
