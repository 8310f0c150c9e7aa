/// One name's state in an ``InMemoryLockStore``: its leases, its limit and
/// its one FIFO queue, and the rule for who may take it.
struct InMemoryLockRecord {
    struct StoredLease {
        var token: LeaseToken
        var fence: Int64
        var ttlMs: Int64
        var expiresAtMs: Int64
        var owner: String?
        var mode: LockMode
        var client: String? = nil
        /// How long the slot stays taken after the lease expires.
        var delayMs: Int64 = 0
        /// A client asked again with its token and was answered with it: it
        /// is no grant to give back (``InMemoryLockStore/giveBack(_:token:grant:evenIfClaimed:)``).
        var claimed = false
        /// The attempt that was granted it (``AcquireAttempt/nonce``).
        var nonce: AttemptNonce? = nil
        /// The waiter a hand-over granted it to without being asked
        /// (``handOver(now:lastFence:grantedBefore:)``), until that waiter
        /// collects it: a waiter that leaves instead gives it back.
        var handedTo: WaiterID? = nil
        /// When the engine counts it held from (``MonotonicClock``; 0: not
        /// counted — never delivered, or ended): ``InMemoryLeaseCounting``.
        var heldSince: UInt64 = 0
        /// When its hold ends if it runs out (monotonic ns, as the ledger
        /// has it: its last grant or renewal's instant plus its TTL).
        var holdsUntil: UInt64 = 0

        /// Whether it is the grant `grant` names.
        func isGrant(_ grant: GrantIdentity) -> Bool {
            switch grant {
            case .fence(let fence): self.fence == fence
            case .attempt(let nonce): self.nonce == nonce
            case .any: true
            }
        }

        /// When its slot frees if it expires: a lease that expired keeps
        /// its slot through its lock delay.
        var slotEndsAtMs: Int64 { expiresAtMs + delayMs }

        func isLive(now: Int64) -> Bool { expiresAtMs > now }

        /// What inspectors see of it at `now`.
        func holder(now: Int64) -> Holder {
            Holder(owner: owner, fence: fence, expiresAtMs: expiresAtMs, remainingMs: expiresAtMs - now, mode: mode, client: client)
        }
    }

    /// Leases whose slots are taken (after ``dropExpired(now:)``), all in
    /// one mode: the live ones, and those that expired but whose lock
    /// delay has not ended.
    var leases: [StoredLease] = []
    /// The name's limit; meaningful while anything holds or waits.
    var limit = 1
    /// Waiters in arrival order; each id says what it waits for.
    var queue: [WaiterID] = []
    /// What each queued waiter asked for, so that a hand-over can grant it
    /// without its asking again; none for a waiter put back by a reconcile.
    /// (Made by `Dictionary()`: the `[:]` literal went through the
    /// variadic literal initializer for every record made, ~20 instructions.)
    var wishes: [WaiterID: Wish] = Dictionary()
    /// No lease's slot here ends after it (its lock delay counted): raised
    /// wherever a slot is made to end later — a grant, a retry, a renewal,
    /// a hand-over (``keepSlot(of:)``) — and lowered only when a release
    /// leaves the record holding nothing. A sweep drops a record past it
    /// with no queue without reading its leases (in a table of 10^5 names,
    /// a cache miss or two a record); a record whose lease was renewed down
    /// or forced out early stays until then (its leases ended: it holds
    /// nothing, as if swept).
    var keptUntilMs: Int64 = .min
    /// No counted lease here (``StoredLease/heldSince``) expires before it
    /// (`.max`: none counted): a scrape's look reads the leases of a
    /// record past it only. Lowered wherever a counted lease is made to
    /// expire sooner than it (a grant, a retry, a renewal), set again by
    /// the look, and `.max` once the record holds nothing.
    var countedDueMs: Int64 = .max

    /// Raises ``keptUntilMs`` to the end of `lease`'s slot.
    mutating func keepSlot(of lease: StoredLease) {
        keptUntilMs = max(keptUntilMs, lease.slotEndsAtMs)
    }

    /// Nothing holds and nothing waits: the name is free to take any limit.
    var isEmpty: Bool { leases.isEmpty && queue.isEmpty }

    /// Takes the waiter at `index` out of the queue, with its wish.
    mutating func unqueue(at index: Int) {
        wishes[queue.remove(at: index)] = nil
    }

    /// Drops the leases whose slots have ended (expired, lock delay over).
    /// Looked for inline first: most operations find none, and `removeAll`
    /// rebuilds the array even then (as a call of its own, the look cost
    /// ~15 instructions an acquire and a release more).
    @inline(__always)
    mutating func dropExpired(now: Int64) {
        guard leases.contains(where: { $0.slotEndsAtMs <= now }) else { return }
        removeEnded(now: now)
    }

    @inline(never)
    private mutating func removeEnded(now: Int64) {
        leases.removeAll { $0.slotEndsAtMs <= now }
    }

    /// ``dropExpired(now:)`` where the record is changed where it is stored
    /// (never on a copy, which would count twice): each counted lease that
    /// expired counts as run out, even one whose slot a lock delay keeps.
    @inline(__always)
    mutating func dropExpired(now: Int64, counting: inout InMemoryLeaseCounting) {
        guard leases.contains(where: { $0.slotEndsAtMs <= now || ($0.heldSince != 0 && $0.expiresAtMs <= now) }) else { return }
        removeEnded(now: now, counting: &counting)
    }

    @inline(never)
    private mutating func removeEnded(now: Int64, counting: inout InMemoryLeaseCounting) {
        for index in leases.indices where leases[index].heldSince != 0 && leases[index].expiresAtMs <= now {
            counting.ranOut(&leases[index])
        }
        counting.tellExpired()
        leases.removeAll { $0.slotEndsAtMs <= now }
    }

    /// Counts each counted lease whose hold ran out, the ledger's grace
    /// past, by `now` (monotonic ns) as expired; sets ``countedDueMs`` again
    /// from the rest. A scrape's look (``InMemoryLockStore/countExpiredLeases(now:)``).
    mutating func countRanOut(dueBy now: UInt64, counting: inout InMemoryLeaseCounting) {
        var due = Int64.max
        for index in leases.indices where leases[index].heldSince != 0 {
            if leases[index].holdsUntil &+ LeaseLedger.grace <= now {
                counting.ranOut(&leases[index])
            } else {
                due = min(due, leases[index].expiresAtMs)
            }
        }
        countedDueMs = due
    }

    /// Counts every counted lease here as run out: the record is dropped
    /// with its slots all ended (a sweep).
    mutating func countAllRanOut(counting: inout InMemoryLeaseCounting) {
        guard countedDueMs != .max else { return }
        for index in leases.indices where leases[index].heldSince != 0 {
            counting.ranOut(&leases[index])
        }
        countedDueMs = .max
    }

    /// When the first lock delay in force (a lease that expired, its slot
    /// still taken) ends; nil when none is.
    func delayedUntil(now: Int64) -> Int64? {
        leases.filter { !$0.isLive(now: now) }.map(\.slotEndsAtMs).min()
    }

    /// Whether a lease in `mode` fits beside `count` holders in `holderMode`.
    static func fits(_ mode: LockMode, beside holderMode: LockMode?, count: Int, limit: Int) -> Bool {
        guard let holderMode, count > 0 else { return true }
        return switch mode {
        case .shared: holderMode == .shared
        case .exclusive: holderMode == .exclusive && count < limit
        }
    }

    /// The waiters at the queue's head that fit beside the holders and each
    /// other, in order; `whole` when every waiter does, and what a request
    /// behind them all would find (the holders' mode and count).
    func admissible() -> (run: [WaiterID], whole: Bool, mode: LockMode?, count: Int) {
        var mode = leases.first?.mode
        var count = leases.count
        var run: [WaiterID] = []
        for waiter in queue {
            guard Self.fits(waiter.mode, beside: mode, count: count, limit: limit) else { return (run, false, mode, count) }
            run.append(waiter)
            mode = waiter.mode
            count += 1
        }
        return (run, true, mode, count)
    }

    /// Whether a request may take the name now: it fits, and so does every
    /// waiter ahead of it (a queued waiter stands at its place; anyone else
    /// behind the whole queue).
    func admits(_ waiter: WaiterID?, mode: LockMode) -> Bool {
        let ahead = admissible()
        if let waiter, let place = queue.firstIndex(of: waiter) {
            return place < ahead.run.count
        }
        return ahead.whole && Self.fits(mode, beside: ahead.mode, count: ahead.count, limit: limit)
    }

    /// Milliseconds until the first slot frees by expiry (lock delays
    /// counted); nil when none is taken.
    func untilFirstExpiry(now: Int64) -> Int64? {
        leases.map(\.slotEndsAtMs).min().map { $0 - now }
    }

    /// Milliseconds until an expiry could admit a request in `mode` (lock
    /// delays counted): a writer behind readers needs all of them gone,
    /// anyone else one.
    func retryAfter(for mode: LockMode, now: Int64) -> Int64 {
        let expiries = leases.map(\.slotEndsAtMs)
        let at = mode == .exclusive && leases.first?.mode == .shared ? expiries.max() : expiries.min()
        return at.map { max(0, $0 - now) } ?? 0
    }

    /// What this process's waiters must hear after the name changed: the
    /// waiters that now fit take it; the rest look again at the first expiry.
    func hint(now: Int64, except: WaiterID? = nil) -> WaitHint {
        let run = admissible().run.filter { $0 != except }
        let recheck = queue.count > run.count ? untilFirstExpiry(now: now) : nil
        return WaitHint(wake: run, recheckAfterMs: recheck)
    }

    /// The live holders (not the slots kept through a lock delay).
    func holders(now: Int64) -> [Holder] {
        leases.filter { $0.isLive(now: now) }.map { $0.holder(now: now) }
    }

    func lease(_ stored: StoredLease, name: LockName) -> Lease {
        Lease(name: name, token: stored.token, fence: stored.fence, ttlMs: stored.ttlMs,
              expiresAtMs: stored.expiresAtMs, owner: stored.owner, mode: stored.mode, limit: limit)
    }
}
