/// A store that counts the leases the engine delivers itself, in its own
/// records, in place of the ``LeaseLedger``: `lockd_locks_held`,
/// `lockd_hold_duration_seconds` and `lockd_leases_expired_total` (the
/// in-memory store). The ledger indexes every lease by name a second time;
/// a store that keeps its leases in this process has them at hand already
/// (~0.9 k instructions and a third of the last-level cache misses of an
/// in-memory grant at 10^4 live leases went to the ledger).
///
/// What it counts is what the ledger counts: a lease from when the engine
/// delivers it (told at the grant, ``acquireAtOnce(_:countingFrom:)``, or
/// after, ``countHold(_:token:isRetry:at:)``) until it is released, given
/// back, forced out or runs out. A grant the engine does not deliver (too
/// late, a cancelled waiter) is never counted. The engine reads whether a
/// store counts once, when it is made, and then tells the ledger nothing
/// of its leases.
///
/// The engine hands the counting only to ``InMemoryLockStore``, held by its
/// type (``LockEngine/countingStore``: direct calls, its at-once acquire
/// inline in the engine's). Another store that conforms is counted by the
/// ledger — correctly, without the saving — until the engine holds it too.
protocol LeaseCountingStore: ImmediateLockStore {
    /// Counts from now on, reporting through `handles` (the engine's).
    func countLeases(reportingTo handles: LeaseLedger.Handles)

    /// ``ImmediateLockStore/acquireAtOnce(_:)``, counting a lease it grants
    /// as held from `heldSince` (``MonotonicClock``; 0: not counted): a new
    /// lease, or an uncounted one found under a token lockd made for the
    /// request (its `nonce` nil). A counted lease found again keeps its
    /// start and runs to the new TTL from `heldSince`.
    func acquireAtOnce(_ attempt: AcquireAttempt, countingFrom heldSince: UInt64) throws(LockError) -> AcquireResult

    /// A grant made without counting (a waiter's, a callback's) was
    /// delivered at `now`: the live lease of `token` on `name` counts as
    /// held from then, or (`isRetry`, or counted already) runs to its TTL
    /// from then.
    func countHold(_ name: LockName, token: LeaseToken, isRetry: Bool, at now: UInt64)

    /// A grant ``acquireAtOnce(_:countingFrom:)`` counted came too late to
    /// deliver: it is not counted (no hold, no end), as if never told.
    func forgetHold(_ name: LockName, token: LeaseToken)

    /// A renew or release of `token` on `name` found no live lease: a
    /// counted lease of that token that ran out counts as expired now, its
    /// hold to its end or to `now` if sooner — as the ledger counts a lost
    /// lease at once, not at a later look or sweep.
    func countLost(_ name: LockName, token: LeaseToken, at now: UInt64)

    /// ``ImmediateLockStore/giveBackAtOnce(_:token:grant:evenIfClaimed:)``,
    /// saying also whether the lease it ended was counted (its hold recorded).
    func giveBackCountingAtOnce(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool)
        -> (ended: Bool, counted: Bool)

    /// A scrape's look: counts the counted leases due by `now` (their
    /// expiry and the ledger's grace past) as expired, and sets the held gauge.
    func countExpiredLeases(now: UInt64)

    /// Leases counted as held now (tests read it through the ledger).
    var countedLeases: Int { get }
}
