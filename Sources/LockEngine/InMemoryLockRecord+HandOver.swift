/// Handing a freed name on, as Redis's release script does (`hand_over` in
/// ``RedisLockScripts``): the waiters at the queue's head that fit now are
/// granted their leases in one step, in queue order, from what each asked
/// for. Woken instead to ask again, each would take its own grant, and a run
/// of readers' fences would follow whichever of their tasks asked first.
extension InMemoryLockRecord {
    /// What a queued waiter asked for: its lease but the mode and limit
    /// (its ``WaiterID`` says those) and the fence.
    struct Wish {
        var token: LeaseToken
        var ttlMs: Int64
        var owner: String?
        var client: String?
        var delayMs: Int64

        init(_ attempt: some AttemptTerms) {
            token = attempt.token
            ttlMs = attempt.ttlMs
            owner = attempt.owner
            client = attempt.client
            delayMs = attempt.lockDelayMs
        }
    }

    /// Grants the waiters at the queue's head that fit now, in order, each
    /// a lease from its wish with the next fence (`lastFence` is the
    /// store's counter), marked as handed to it until it collects it. From
    /// the first that left no wish (put back by a reconcile), or whose token
    /// holds the name already (it is not granted twice), the rest are only
    /// woken and take the name themselves, so grants stay in queue order.
    /// - Parameter grantedBefore: the monotonic clock read before the grants.
    /// - Returns: what this process's waiters must hear: their grants, who
    ///   to wake, and when the rest look again.
    mutating func handOver(now: Int64, lastFence: inout Int64, grantedBefore: UInt64) -> WaitHint {
        var granted: [HandedGrant] = []
        // The run is the queue's head: each granted waiter is first in it.
        for waiter in admissible().run {
            guard let wish = wishes[waiter], !leases.contains(where: { $0.token == wish.token }) else { break }
            unqueue(at: 0)
            let fence = InMemoryLockStore.nextFence(after: &lastFence)
            let lease = StoredLease(
                token: wish.token, fence: fence, ttlMs: wish.ttlMs, expiresAtMs: now + wish.ttlMs, owner: wish.owner,
                mode: waiter.mode, client: wish.client, delayMs: wish.delayMs, handedTo: waiter
            )
            keepSlot(of: lease)
            leases.append(lease)
            granted.append(HandedGrant(waiter: waiter, fence: fence, grantedAtMs: now, grantedBefore: grantedBefore))
        }
        var hint = hint(now: now)
        hint.granted = granted
        return hint
    }

    /// The waiters among `waiters` a hand-over granted a lease they have
    /// not collected.
    func handed(among waiters: [WaiterID]) -> Set<WaiterID> {
        let handed = Set(leases.compactMap(\.handedTo))
        return handed.isEmpty ? [] : Set(waiters.filter(handed.contains))
    }
}
