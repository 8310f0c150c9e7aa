import CoreMetrics
import Synchronization

/// The leases this process granted and has not yet seen end, for the
/// `lockd_locks_held` gauge, `lockd_hold_duration_seconds` (grant to release
/// or expiry) and `lockd_leases_expired_total`.
///
/// Expiry is decided by the store and announced by nothing, so a lease counts
/// as expired once its TTL (on this process's monotonic clock, plus a second
/// of grace for a renewal in flight) has passed without a renew or release
/// through this process. A lease renewed or released through another lockd
/// instance therefore counts as expired here: the figures are per instance.
///
/// Entries are found by name, then by token, so no lookup depends on a
/// token's hash; they are kept in order of expiry (``LeaseTable``), so
/// ending the expired ones reads only those. They are ended at most once a
/// second, by the next grant or by a scrape.
///
/// A store that has its leases in this process counts them itself
/// (``LeaseCountingStore``, the in-memory store): the engine then tells the
/// ledger nothing, and its count and a scrape's look are the store's.
final class LeaseLedger: Sendable {
    fileprivate struct State {
        /// Where new leases go.
        var leases = LeaseTable(grace: LeaseLedger.grace)
        /// The table a sweep retired, four times larger than its leases
        /// needed (after a burst): its leases are found, renewed and ended
        /// there as in ``leases`` (each lease is in one of the two), and a
        /// sweep moves ``drainPerSweep`` of them into ``leases``. Emptied,
        /// it is freed outside the lock. Rebuilt at once instead, under the
        /// lock, a table of 10^5 leases cost the grant or scrape whose
        /// sweep found it oversized ~10–20 ms, other loops' grants waiting (review17).
        var retiring: LeaseTable?
        var lastSweep: UInt64 = 0

        var count: Int { leases.count &+ (retiring?.count ?? 0) }
    }

    /// Leases a sweep moves out of a retired table: a bounded pause (~0.3 M
    /// instructions), and 10^5 leases moved within ~100 sweeps (they end
    /// sooner if their TTLs are shorter).
    static let drainPerSweep = 1_024

    /// A lease counts as held this long past its TTL (a renewal in flight).
    static let grace: UInt64 = 1_000_000_000
    private static let sweepInterval: UInt64 = 1_000_000_000

    private let state = Mutex(State())
    private let held: Gauge
    private let holds: Timer
    private let expired: Counter

    /// The store that counts its leases itself (``LeaseCountingStore``),
    /// once an engine over one is made: the ledger's table is then empty,
    /// and a scrape's look and the count are the store's.
    private let countingStore = Mutex<(any LeaseCountingStore)?>(nil)

    init(factory: any MetricsFactory) {
        held = Gauge(label: "lockd_locks_held", factory: factory)
        holds = Timer(label: "lockd_hold_duration_seconds", factory: factory)
        expired = Counter(label: "lockd_leases_expired_total", factory: factory)
    }

    /// The three series' handles, for a store that counts its own leases.
    struct Handles: Sendable {
        let held: Gauge
        let holds: Timer
        let expired: Counter
    }

    /// Hands the counting of leases to `store`, which reports through this
    /// ledger's handles; the engine tells the ledger nothing more of them.
    func countedBy(_ store: any LeaseCountingStore) {
        store.countLeases(reportingTo: Handles(held: held, holds: holds, expired: expired))
        countingStore.withLock { $0 = store }
    }

    /// Leases held now, as far as this process knows.
    var count: Int {
        if let store = countingStore.withLock({ $0 }) { return store.countedLeases }
        return state.withLock { $0.count }
    }

    func granted(_ lease: Lease, isRetry: Bool, now: UInt64) {
        let expiresAt = now &+ UInt64(max(0, lease.ttlMs)) &* 1_000_000
        let (count, sweepDue) = state.withLock { state -> (Int, Bool) in
            if isRetry {
                // Only the grant that started a lease starts its hold; a
                // retry through another instance is not a new lease.
                state.setExpiry(lease.name, token: lease.token, to: expiresAt)
            } else {
                state.leases.add(lease.name, token: lease.token, times: .init(grantedAt: now, expiresAt: expiresAt))
            }
            return (state.count, now &- state.lastSweep >= Self.sweepInterval)
        }
        // No sweep (all but one grant a second): the gauge alone. An empty
        // array reported went through the report's loop and was released
        // (~45 instructions a grant). A sweep takes the lock again (once a
        // second): done inside, the table it may free came out through
        // every grant's answer (~40 instructions a grant).
        guard sweepDue else { return held.record(count) }
        sweep(now: now)
    }

    func renewed(_ lease: Lease, now: UInt64) {
        let expiresAt = now &+ UInt64(max(0, lease.ttlMs)) &* 1_000_000
        state.withLock { $0.setExpiry(lease.name, token: lease.token, to: expiresAt) }
    }

    /// - Returns: Whether this process counted the lease as held.
    @discardableResult
    func released(_ name: LockName, token: LeaseToken, now: UInt64) -> Bool {
        let (times, count) = state.withLock { state in (state.remove(name, token: token), state.count) }
        guard let times else { return false }
        holds.recordNanoseconds(Int64(clamping: now &- times.grantedAt))
        held.record(count)
        return true
    }

    /// A renew or release found the lease gone: it expired before its TTL
    /// ran out here (or another instance released it).
    func lost(_ name: LockName, token: LeaseToken, now: UInt64) {
        let (times, count) = state.withLock { state in (state.remove(name, token: token), state.count) }
        guard let times else { return }
        report(count, expiredHolds: [LeaseTable.Times(grantedAt: times.grantedAt, expiresAt: min(now, times.expiresAt))])
    }

    func sweep(now: UInt64) {
        if let store = countingStore.withLock({ $0 }) { return store.countExpiredLeases(now: now) }
        let (count, ended, retired) = state.withLock { state in
            let (ended, retired) = state.sweep(now: now)
            return (state.count, ended, retired)
        }
        _ = consume retired
        report(count, expiredHolds: ended)
    }

    /// `expiredHolds`: each expired lease's grant and expiry (a hold is the
    /// time between them), as the table hands them: mapped to holds first,
    /// a sweep's were copied into a second array.
    private func report(_ count: Int, expiredHolds: [LeaseTable.Times]) {
        // One increment for a sweep's expiries (tens of thousands a second
        // under load), each hold recorded.
        if !expiredHolds.isEmpty { expired.increment(by: Int64(expiredHolds.count)) }
        for hold in expiredHolds { holds.recordNanoseconds(Int64(clamping: hold.expiresAt &- hold.grantedAt)) }
        held.record(count)
    }
}

extension LeaseLedger.State {
    /// Ends every lease past its expiry and grace; returns their times, and
    /// the retired table once it is empty (for the caller to free outside
    /// the lock). An oversized table is retired, not rebuilt: swapped for an
    /// empty one, and drained by this and the next sweeps.
    fileprivate mutating func sweep(now: UInt64) -> (ended: [LeaseTable.Times], retired: LeaseTable?) {
        lastSweep = now
        var ended = leases.removeDue(now: now, shrinking: false)
        guard retiring != nil else {
            if leases.isOversized {
                let full = leases
                leases = LeaseTable(following: full)
                retiring = consume full
            }
            return (ended, nil)
        }
        ended.append(contentsOf: retiring?.removeDue(now: now, shrinking: false) ?? [])
        _ = retiring?.move(upTo: LeaseLedger.drainPerSweep, into: &leases)
        guard retiring?.count == 0 else { return (ended, nil) }
        defer { retiring = nil }
        return (ended, retiring)
    }

    /// Moves the lease's expiry, in whichever table holds it.
    fileprivate mutating func setExpiry(_ name: LockName, token: LeaseToken, to expiresAt: UInt64) {
        guard !leases.setExpiry(name, token: token, to: expiresAt) else { return }
        retiring?.setExpiry(name, token: token, to: expiresAt)
    }

    /// Removes the lease from whichever table holds it; its times, or nil.
    fileprivate mutating func remove(_ name: LockName, token: LeaseToken) -> LeaseTable.Times? {
        if let times = leases.remove(name, token: token) { return times }
        return retiring?.remove(name, token: token)
    }
}

extension LeaseLedger {
    /// Room for leases in the table new leases go to, and in a retired one
    /// still draining (tests read it).
    var rooms: (live: Int, retiring: Int?) { state.withLock { ($0.leases.room, $0.retiring?.room) } }
}
