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
final class StoreClockOffset: Sendable {
    private struct Bound {
        /// Store ms minus monotonic ms, at most.
        var offsetMs: Int64
        /// When it was measured (monotonic ns).
        var at: UInt64
        /// Measured before a reconnection: the next sample replaces it.
        var isStale = false
    }

    private let bound = Mutex<Bound?>(nil)

    /// How much the bound is widened per second of age, in ms: 1 ‰, far
    /// more than two clocks kept by NTP drift apart.
    static let driftPerSecond: Int64 = 1

    /// Notes that a request sent at `sentAt` (monotonic ns) was served at
    /// `storeMs` on the store's clock.
    func sample(storeMs: Int64, sentAt: UInt64) {
        let offset = storeMs - Int64(sentAt / 1_000_000)
        bound.withLock { bound in
            if let current = bound, !current.isStale, Self.widened(current, at: sentAt) <= offset { return }
            bound = Bound(offsetMs: offset, at: sentAt)
        }
    }

    /// Lets the next sample replace the bound: the store may be another
    /// server now. (Until then the old bound serves, rather than none: with
    /// none every grant would count as too old to deliver.)
    func reset() {
        bound.withLock { $0?.isStale = true }
    }

    /// A monotonic time (ns) no later than the moment the store's clock read
    /// `storeMs`; 0 (as old as can be) when nothing has been measured.
    func monotonic(ofStoreMs storeMs: Int64) -> UInt64 {
        let now = MonotonicClock.now()
        guard let current = bound.withLock({ $0 }) else { return 0 }
        let ms = storeMs - Self.widened(current, at: now)
        return ms > 0 ? UInt64(ms) * 1_000_000 : 0
    }

    private static func widened(_ bound: Bound, at time: UInt64) -> Int64 {
        let ageSeconds = Int64((time > bound.at ? time - bound.at : 0) / 1_000_000_000)
        return bound.offsetMs + (ageSeconds + 1) * driftPerSecond
    }
}
