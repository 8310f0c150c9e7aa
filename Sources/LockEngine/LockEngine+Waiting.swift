import LockdTransport
import Logging

/// The waiting acquire: a place in the store's fair queue, parked until
/// woken, handed a grant, or out of time.
extension LockEngine {
    func acquireWaiting(_ request: AcquireRequest, token: LeaseToken) async throws(LockError) -> AcquireGrant {
        let place = try joinWaiters(request)
        return try await keepWaiting(request, token: token, place, first: nil)
    }

    /// Where a waiting acquire stands in this process: its id and when its
    /// wait ends (monotonic ns).
    struct WaitingPlace: Sendable {
        let waiter: WaiterID
        let deadline: UInt64
    }

    /// The first step of a waiting acquire, before its first attempt: an id,
    /// a deadline, its entry in the registry (which keeps a wake-up or a
    /// handed grant that comes before it parks) and the gauge.
    func joinWaiters(_ request: borrowing AcquireRequest) throws(LockError) -> WaitingPlace {
        let waiter = WaiterID.random(mode: request.mode, limit: request.limit)
        let deadline = MonotonicClock.now() + UInt64(request.waitMs) * 1_000_000
        guard let count = waiters.add(waiter, name: request.name, deadline: deadline) else { throw .unavailable("lockd is shutting down") }
        metrics.waiting(count)
        return WaitingPlace(waiter: waiter, deadline: deadline)
    }

    /// The last step of every waiting acquire, however it ends: its entry
    /// leaves the registry, and the gauge says so.
    func leaveWaiters(_ waiter: WaiterID) {
        metrics.waiting(waiters.remove(waiter))
    }

    /// The outcome of a waiting acquire's first attempt, made by its caller
    /// (``acquireWaitingByCallback(_:cancellation:taskExecutor:completion:)``) rather than
    /// by ``keepWaiting(_:token:_:first:)``, and whether that attempt asked
    /// for the holders.
    struct FirstOutcome: Sendable {
        let outcome: Result<Delivery, LockError>
        let neededHolders: Bool
    }

    /// ``acquireWaiting(_:token:)`` from its first attempt on, the request
    /// registered already (``joinWaiters(_:)``); `first`, when set, is the
    /// outcome of that attempt, made already: handled as the loop would
    /// handle its own.
    func keepWaiting(_ request: AcquireRequest, token: LeaseToken, _ place: WaitingPlace,
                     first: FirstOutcome?) async throws(LockError) -> AcquireGrant {
        let (waiter, deadline) = (place.waiter, place.deadline)
        defer { leaveWaiters(waiter) }
        var first = first
        var lastHeld: (holders: [Holder], retryAfterMs: Int64) = ([], 0)
        var isRechecking = false
        /// An attempt failed after it may have run (or may run yet), or a
        /// grant came too late: if the request ends without a lease, its
        /// token may hold one no client will have.
        var mayHoldLease = false
        /// An attempt failed after it may have run (or may run yet): the
        /// part of ``mayHoldLease`` that a last too-late grant does not settle.
        var storeMayRunAnAttempt = false
        while true {
            var attempt = waitingAttempt(request, token: token, place)
            var outageUntil: UInt64?
            let outcome: Delivery?
            do throws(LockError) {
                if let made = first.take() {
                    // The first attempt, made by the caller with these very
                    // terms (its wait as long as this one's, to the ms).
                    attempt.needsHolders = made.neededHolders
                    outcome = try made.outcome.get()
                } else {
                    outcome = try await attemptDeliverable(attempt, ownToken: request.token == nil, deadline: deadline)
                }
                storeServed()
            } catch {
                // A short outage (Redis restarting, a failover) costs a waiter
                // nothing: it waits for the store to come back, and its place
                // is put back. A longer one is answered 503.
                if case .unavailable = error { (mayHoldLease, storeMayRunAnAttempt) = (true, true) }
                guard case .unavailable = error, let graceEnd = storeFailed(), MonotonicClock.now() < deadline else {
                    await giveUp(waiter, request, token: token, mayHoldLease: mayHoldLease)
                    throw error
                }
                outcome = nil
                outageUntil = min(graceEnd, deadline)
            }
            switch outcome {
            case .granted(let grant):
                // (A lease found under lockd's own token is new to the client: ``AttemptAnswer/received(_:of:)``.)
                return grant
            case .tooLate(let isLastAttempt, _, _):
                guard isLastAttempt else {
                    mayHoldLease = true
                    continue
                }
                // Too late, and the wait is over: no attempt more. The lock
                // was free (it was granted), so not 409: what an acquire
                // that does not wait is answered when it is too slow. Its
                // token's leases went back with this last grant; only an
                // attempt the store failed may still run.
                await giveUp(waiter, request, token: token, mayHoldLease: storeMayRunAnAttempt)
                throw .unavailable(Self.tooSlowDetail)
            case .held(let holders, let retryAfterMs, let hint):
                lastHeld = (holders, retryAfterMs)
                guard MonotonicClock.now() < deadline else {
                    // Ran out during an attempt made without the holders: one more, with them.
                    if !attempt.needsHolders { continue }
                    await giveUp(waiter, request, token: token, mayHoldLease: mayHoldLease)
                    throw .lockHeld(holders: lastHeld.holders, retryAfterMs: lastHeld.retryAfterMs)
                }
                var hint = hint
                // A free lock's head was woken when the lock was freed; only
                // a recheck finds one that nothing woke (this process's first
                // waiter is not always its first in the queue).
                if !isRechecking { hint.wake = [] }
                follow(hint, on: request.name, isOrdered: false)
            case nil:
                break
            }
            let reason = await waiters.park(waiter, outageUntil: outageUntil)
            isRechecking = reason == .recheck
            switch reason {
            case .woken, .timer, .recheck:
                continue
            case .granted(let handed):
                if let grant = await deliverable(handed, for: request, token: token) {
                    deliveredGrants.insert(waiter)
                    return grant
                }
                // Released again; the queue no longer holds this waiter.
                // Cancelled, or too late with the wait over (no attempt more,
                // as for a too-late grant of its own attempt, `.tooLate`
                // above): it ends, giving back what its attempts may hold.
                let end: LockError? = Task.isCancelled ? .cancelled
                    : MonotonicClock.now() >= deadline ? .unavailable(Self.tooSlowDetail) : nil
                guard let end else { continue }
                if mayHoldLease { giveBackIfUnanswered(token, of: request) }
                throw end
            case .cancelled:
                await giveUp(waiter, request, token: token, mayHoldLease: mayHoldLease)
                throw .cancelled
            case .shutdown:
                await giveUp(waiter, request, token: token, mayHoldLease: mayHoldLease)
                throw .unavailable("lockd is shutting down")
            }
        }
    }

    /// A waiting acquire (`request.waitMs` > 0) on a store that answers by
    /// callbacks, answered through `completion`: its first attempt, in its
    /// waiting form — the one ``acquireWaiting(_:token:)`` makes first, with
    /// the same id, deadline and registry entry — is made without a task,
    /// and a grant in its reply answers the request there. Only a request
    /// that attempt leaves waiting (queued: the script put it in the name's
    /// queue as it found the name held), or that failed, goes on in a task
    /// (``keepWaiting(_:token:_:first:)``), which handles that outcome as
    /// its own first and parks. One script call either way, as before.
    ///
    /// On a store that answers at once, the caller tries the request at
    /// once first (``acquireAtOnce(_:startedAt:)``); on Redis that try was
    /// not made, and every waiting acquire ran a task, awaited its attempt
    /// and woke for its reply (~10 k instructions a free name's acquire).
    /// `taskExecutor`: where that task runs (the request's loop: there a
    /// hang-up its loop has seen is seen before the task goes on, as for
    /// the request's own task before).
    func acquireWaitingByCallback(_ request: AcquireRequest, cancellation: CallCancellation, taskExecutor: (any TaskExecutor)?,
                                  completion: @escaping @Sendable (consuming Result<AcquireGrant, LockError>) -> Void) {
        let token: LeaseToken
        let place: WaitingPlace
        do throws(LockError) {
            try validate(request)
            token = request.token ?? LeaseToken.random()
            place = try joinWaiters(request)
        } catch {
            return completion(.failure(error))
        }
        // The terms ``keepWaiting(_:token:_:first:)`` makes its attempts with.
        let attempt = waitingAttempt(request, token: token, place)
        let first = WaitingFirstAttempt(request: request, token: token, place: place, neededHolders: attempt.needsHolders,
                                        cancellation: cancellation, taskExecutor: taskExecutor, completion: completion)
        let answer = AttemptAnswer(engine: self, ownToken: request.token == nil, cancellation: cancellation, answer: .firstOfWaiting(first))
        store.acquire(attempt, answering: answer)
    }

    /// Ends a waiting acquire that has no lease to deliver: leaves the queue
    /// (which takes back a grant a release handed the waiter) and, when
    /// `mayHoldLease`, gives back what one of its own attempts may have
    /// taken under lockd's token (``giveBackIfUnanswered(_:of:)``).
    private func giveUp(_ waiter: WaiterID, _ request: AcquireRequest, token: LeaseToken, mayHoldLease: Bool) async {
        await leaveQueue(waiter, name: request.name)
        if mayHoldLease { giveBackIfUnanswered(token, of: request) }
    }

    /// Gives up a place in the queue, even from a cancelled task, and any
    /// lease the store granted this waiter meanwhile.
    private func leaveQueue(_ waiter: WaiterID, name: LockName) async {
        let store = store
        // An unstructured task, awaited: the caller's task may be cancelled,
        // and the store must still hear that this waiter is gone.
        let left = await Task { () -> Bool in
            (try? await store.removeWaiter(waiter, from: name, reclaimingGrant: true)) != nil
        }.value
        guard !left else { return }
        // Told later: a lease granted to it must not outlive it.
        logger.debug("could not leave the queue; trying again in the background", metadata: ["lock.name": "\(name)"])
        pendingUpkeep.withLock { _ = $0.strays.insert(Stray(name: name, waiter: waiter, reclaimingGrant: true)) }
        cleanupBell.ring()
    }

    /// A lease the store granted this waiter by itself, made safe to hand
    /// to the client as ``attemptDeliverable(_:)`` makes a reply: nil (and
    /// the lease released) when the caller has gone or too little of its
    /// TTL is left.
    private func deliverable(_ handed: HandedGrant, for request: AcquireRequest, token: LeaseToken) async -> AcquireGrant? {
        let lease = Lease(name: request.name, token: token, fence: handed.fence, ttlMs: request.ttlMs,
                          expiresAtMs: handed.grantedAtMs + request.ttlMs, owner: request.owner, mode: request.mode, limit: request.limit)
        let deliverBy = Self.deliverBy(askedAt: handed.grantedBefore, ttlMs: lease.ttlMs)
        let now = MonotonicClock.now()
        guard !Task.isCancelled, now < deliverBy else {
            if !Task.isCancelled {
                let elapsedMs = (now > handed.grantedBefore ? now - handed.grantedBefore : 0) / 1_000_000
                logger.warning("grant arrived too late to deliver; released it", metadata: [
                    "lock.name": "\(request.name)", "elapsed_ms": .stringConvertible(elapsedMs), "ttl_ms": .stringConvertible(lease.ttlMs),
                ])
            }
            await releaseQuietly(request.name, token: token, grant: .fence(handed.fence), evenIfClaimed: false)
            return nil
        }
        return AcquireGrant(lease: lease, isRetry: false, lockdMadeToken: request.token == nil, deliverBy: deliverBy)
    }

    /// The attempt a waiting acquire makes now, its first or a later one:
    /// its place in the queue, what is left of its wait, and the request's
    /// terms. Both ``acquireWaitingByCallback(_:cancellation:taskExecutor:completion:)``
    /// (the first) and ``keepWaiting(_:token:_:first:)`` (the rest) make it
    /// here, so the first attempt's terms are the loop's to the field.
    func waitingAttempt(_ request: borrowing AcquireRequest, token: LeaseToken, _ place: WaitingPlace) -> AcquireAttempt {
        let now = MonotonicClock.now()
        let waitMs = Int64((place.deadline > now ? place.deadline - now : 0) / 1_000_000)
        return AcquireAttempt(
            name: request.name, token: token, ttlMs: request.ttlMs, owner: request.owner, waiter: place.waiter,
            waitMs: waitMs, mode: request.mode, limit: request.limit, client: request.client,
            durability: request.durability ?? configuration.defaultDurability, lockDelayMs: request.lockDelayMs,
            // The holders are answered only when the wait ends: an attempt
            // with long to wait goes without (a lighter reply).
            needsHolders: waitMs < Self.holdersNeededWithinMs,
            // A client's own token may hold a lease the client has: its
            // attempts are named (``AcquireAttempt/nonce``).
            nonce: request.token != nil ? .random() : nil)
    }

    /// A waiting attempt asks for the holders when less than this is left of its wait.
    private static let holdersNeededWithinMs: Int64 = 1_000
}
