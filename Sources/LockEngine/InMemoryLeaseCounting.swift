/// The in-memory store's count of the leases the engine delivered
/// (``LeaseCountingStore``), kept under the store's lock beside its records:
/// each counted lease carries its hold's start and end
/// (``InMemoryLockRecord/StoredLease/heldSince``, ``InMemoryLockRecord/StoredLease/holdsUntil``),
/// and this counts them and reports their ends as the ``LeaseLedger`` does.
///
/// The held gauge is set by a scrape's look only
/// (``InMemoryLockStore/countExpiredLeases(now:)``): the metrics are read
/// just after it (``LockMetrics/collectExpiredLeases()``), so it shows the
/// count a scrape would have seen had it been set at every change (~25
/// instructions a grant and a release).
struct InMemoryLeaseCounting {
    /// The engine's handles; nil until an engine asks the store to count
    /// (until then no lease is counted: nothing passes a start).
    var handles: LeaseLedger.Handles?
    /// Leases counted as held (started, and not yet ended or run out).
    var held = 0
    /// Expiries counted and not yet added to the counter: a sweep's or a
    /// look's are added at once at their end (``tellExpired()``), as the
    /// ledger's sweep added its own — an atomic increment a lease was ~30
    /// instructions and a shared line each of a sweep's thousands.
    private var expiredUntold = 0

    /// `lease` counts as held from `heldSince` (monotonic ns, not 0), to
    /// its TTL from then unless renewed.
    @inline(__always)
    mutating func start(_ lease: inout InMemoryLockRecord.StoredLease, at heldSince: UInt64) {
        lease.heldSince = heldSince
        lease.holdsUntil = heldSince &+ Self.nanoseconds(lease.ttlMs)
        held &+= 1
    }

    /// `lease` (counted) no longer counts, with no end reported: a grant the
    /// engine could not deliver.
    mutating func forget(_ lease: inout InMemoryLockRecord.StoredLease) {
        lease.heldSince = 0
        held &-= 1
    }

    /// A counted lease held since `heldSince` was released or given back at
    /// `now`: its hold recorded, as the ledger's release records it. (Its
    /// start alone is passed: the lease itself, lent from its array, was
    /// copied and destroyed around the call, ~0.45 k instructions a release.)
    mutating func released(heldSince: UInt64, now: UInt64) {
        held &-= 1
        handles?.holds.recordNanoseconds(Int64(clamping: now &- heldSince))
    }

    /// `lease` (counted) ran out — or, forced out at `now`, ended as the
    /// ledger counts a lost lease: counted expired, its hold to its expiry
    /// (or to `now` if sooner). It counts no more.
    /// Told to the counter by ``tellExpired()``.
    mutating func ranOut(_ lease: inout InMemoryLockRecord.StoredLease, now: UInt64 = .max) {
        held &-= 1
        expiredUntold &+= 1
        handles?.holds.recordNanoseconds(Int64(clamping: min(now, lease.holdsUntil) &- lease.heldSince))
        lease.heldSince = 0
    }

    /// Adds the expiries ``ranOut(_:now:)`` counted to the expired counter.
    mutating func tellExpired() {
        guard expiredUntold > 0 else { return }
        handles?.expired.increment(by: Int64(expiredUntold))
        expiredUntold = 0
    }

    /// `lease` (counted) runs to a TTL from `now` (renewed, or retried by its holder).
    @inline(__always)
    static func extend(_ lease: inout InMemoryLockRecord.StoredLease, from now: UInt64) {
        lease.holdsUntil = now &+ nanoseconds(lease.ttlMs)
    }

    @inline(__always)
    private static func nanoseconds(_ ms: Int64) -> UInt64 {
        UInt64(max(0, ms)) &* 1_000_000
    }
}
