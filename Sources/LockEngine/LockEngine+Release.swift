import LockdTransport

/// Extending and ending leases: renew, release and force-release, counted
/// in the metrics and told to the name's watchers.
extension LockEngine {
    /// Extends a lease; `ttlMs` nil keeps its current TTL, `durability` nil
    /// is the engine's default; `client` (the authenticated client renewing
    /// it, as on acquire) goes into its `renewed` event.
    /// - Throws: ``LockError/leaseLost`` when `token` does not hold the lock;
    ///   ``LockError/unavailable(_:)`` (`replicated`: also when no replica
    ///   acknowledged the renewal in time).
    nonisolated(nonsending) public func renew(
        _ name: LockName, token: LeaseToken, ttlMs: Int64?, durability: Durability? = nil, client: String? = nil
    ) async throws(LockError) -> Lease {
        if let ttlMs { try validateTTL(ttlMs) }
        let durability = durability ?? configuration.defaultDurability
        try validate(durability)
        guard let lease = try await store.renew(name, token: token, ttlMs: ttlMs, durability: durability) else {
            lost(name, token: token)
            throw .leaseLost
        }
        if !storeCountsLeases { metrics.renewed(lease) }
        if store.mayWatch(name) { store.publish(LockEvent(.renewed, lease: lease, client: client)) }
        return lease
    }

    /// Ends a lease and hands the lock to the next waiter.
    /// - Throws: ``LockError/leaseLost`` when `token` does not hold the lock.
    nonisolated(nonsending) public func release(_ name: LockName, token: LeaseToken) async throws(LockError) {
        try await awaitingCallback { release(name, token: token, cancellation: $0, completion: $1) }
    }

    /// ``release(_:token:)`` answered through `completion`: without a task
    /// on a store that answers by callbacks (see ``acquire(_:cancellation:completion:)``).
    public func release(_ name: LockName, token: LeaseToken, cancellation: CallCancellation,
                        completion: @escaping @Sendable (Result<Void, LockError>) -> Void) {
        do throws(LockError) {
            // Asked only of a store that answers at once (see ``acquire(_:cancellation:completion:)``).
            if answersAtOnce, try releaseAtOnce(name, token: token) { return completion(.success(())) }
        } catch {
            return completion(.failure(error))
        }
        if store.mayWatch(name) {
            return store.releaseReportingHolder(name, token: token, cancellation: cancellation) { [self] holder in
                completion(Result { () throws(LockError) in try released(name, token: token, holder: try holder.get()) })
            }
        }
        store.release(name, token: token, answering: ReleaseAnswer(engine: self, cancellation: cancellation, completion: completion))
    }

    /// ``release(_:token:)`` done at once, on a store whose operations never
    /// wait (``ImmediateLockStore``); false, with nothing done, on any other:
    /// call ``release(_:token:)``.
    public func releaseAtOnce(_ name: LockName, token: LeaseToken) throws(LockError) -> Bool {
        // Through `immediateStore?`, not bound (see ``acquireAtOnce(_:startedAt:)``);
        // `answersAtOnce` says there is one.
        guard answersAtOnce else { return false }
        if mayWatch(name) {
            try released(name, token: token, holder: immediateStore?.releaseReportingHolderAtOnce(name, token: token))
        } else if storeCountsLeases {
            // The in-memory store called directly (see ``countingStore``).
            try released(name, token: token, ended: countingStore?.releaseAtOnce(name, token: token) == true)
        } else {
            try released(name, token: token, ended: immediateStore?.releaseAtOnce(name, token: token) == true)
        }
        return true
    }

    /// Counts a release the store answered; throws when it ended nothing.
    func released(_ name: LockName, token: LeaseToken, ended: Bool) throws(LockError) {
        guard ended else {
            lost(name, token: token)
            throw .leaseLost
        }
        metrics.leaseEnded(.released, name: name, token: token, inLedger: !storeCountsLeases)
    }

    /// A renew or release found `token`'s lease on `name` gone: counted lost,
    /// and the lease, if it ran out still counted, counted expired at once
    /// (by the ledger, or by a store that counts its leases).
    private func lost(_ name: LockName, token: LeaseToken) {
        metrics.leaseEnded(.lost, name: name, token: token, inLedger: !storeCountsLeases)
        if storeCountsLeases { countingStore?.countLost(name, token: token, at: MonotonicClock.now()) }
    }

    /// Ends the lease with `fence`, whatever its token, and hands the lock on
    /// as a release would: an administrator's force-release. To its holder
    /// the lease is lost.
    /// - Throws: ``LockError/notHeld(fence:)`` when no live lease of `name`
    ///   has that fence.
    public func forceRelease(_ name: LockName, fence: Int64) async throws(LockError) {
        guard store.mayWatch(name) else {
            guard let token = try await store.forceRelease(name, fence: fence) else { throw .notHeld(fence: fence) }
            metrics.leaseEnded(.lost, name: name, token: token, inLedger: !storeCountsLeases)
            return
        }
        guard let ended = try await store.forceReleaseReportingHolder(name, fence: fence) else { throw .notHeld(fence: fence) }
        metrics.leaseEnded(.lost, name: name, token: ended.token, inLedger: !storeCountsLeases)
        store.publish(LockEvent(.lost, name: name, holder: ended.holder, atMs: WallClock.milliseconds()))
    }

    /// A release while someone may watch: the store said whose lease ended
    /// (nil: none), for the `released` event.
    private func released(_ name: LockName, token: LeaseToken, holder: Holder?) throws(LockError) {
        try released(name, token: token, ended: holder != nil)
        guard let holder else { return }
        // Fence 0: the store could not say whose lease it was.
        guard holder.fence > 0 else { return }
        store.publish(LockEvent(.released, name: name, holder: holder, atMs: WallClock.milliseconds()))
    }
}
