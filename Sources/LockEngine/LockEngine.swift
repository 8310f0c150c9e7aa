import LockdTransport
import Logging
import Synchronization

/// Lock semantics over a ``LockStore``: validation, retry-safe acquire,
/// waiting in a fair queue, and the guarantee that no dead lease is handed out.
///
/// ```swift
/// let engine = LockEngine(store: InMemoryLockStore(), loops: group, logger: logger)
/// let grant = try await engine.acquire(AcquireRequest(name: LockName("orders"), ttlMs: 30_000))
/// try await engine.release(grant.lease.name, token: grant.lease.token)
/// ```
public final class LockEngine: Sendable {
    /// The rules and limits in force.
    public let configuration: LockEngineConfiguration
    let store: any LockStore
    /// The store, when its operations never wait: requests that need not
    /// wait are answered through it without a task.
    let immediateStore: (any ImmediateLockStore)?
    let waiters: WaiterRegistry
    let logger: Logger
    let metrics: LockMetrics
    /// Since when the store has been failing (monotonic ns; 0: it serves).
    let outageSince = Atomic<UInt64>(0)
    /// Wakes the upkeep task (the liveness beat) on time, or early (a
    /// reconnection, a stray queue entry).
    let upkeep: Doorbell
    /// Rings the clean-up task (stray queue entries, leases to give back),
    /// which runs apart from the beat so that its store calls never delay it.
    let cleanupBell: Doorbell
    /// Work for the upkeep task.
    let pendingUpkeep = Mutex(PendingUpkeep())
    /// This process's event watchers (`GET /events`).
    public let events: LockEventHub
    /// Wakes the expiry task when a watched lease may expire sooner.
    let expiryBell: Doorbell
    /// Waiters whose handed grant reached its client: a duplicate wake-up
    /// for one must not give its lease back (see ``follow(_:on:isOrdered:)``).
    let deliveredGrants = DeliveredGrants()

    /// Creates an engine over `store`; `loops` runs its timers.
    /// - Parameter upkeepLoop: times the liveness beat; give it a loop that
    ///   serves no requests (the one of the store's liveness connection), so
    ///   request load cannot delay a beat. Default: one of `loops`.
    public init(
        store: any LockStore,
        configuration: LockEngineConfiguration = .init(),
        loops: EventLoopGroup,
        upkeepLoop: EventLoop? = nil,
        metrics: LockMetrics = LockMetrics(),
        logger: Logger
    ) {
        self.store = store
        self.immediateStore = store as? any ImmediateLockStore
        self.answersAtOnce = immediateStore != nil
        self.configuration = configuration
        self.waiters = WaiterRegistry(loops: loops)
        self.upkeep = Doorbell(loop: upkeepLoop ?? loops.next())
        self.cleanupBell = Doorbell(loop: upkeepLoop ?? loops.next())
        let expiryBell = Doorbell(loop: upkeepLoop ?? loops.next())
        self.expiryBell = expiryBell
        self.events = LockEventHub(expiryBell: expiryBell, interest: { [store] interested in store.setEventInterest(interested) },
                                   prefixes: { [store] prefixes in store.setWatchedPrefixes(prefixes) })
        self.metrics = metrics
        self.logger = logger
    }

    /// Takes the lock, waiting up to `request.waitMs` in first-come-first-served
    /// order; a token that already holds it gets its lease back with the new TTL.
    /// - Throws: ``LockError/lockHeld(holders:retryAfterMs:)`` when still held
    ///   after the wait (at once when the token holds the name in the other
    ///   mode); ``LockError/limitMismatch(limit:)`` when the name is in use
    ///   with another limit; ``LockError/invalidRequest(_:)``; ``LockError/unavailable(_:)``;
    ///   ``LockError/cancelled`` when the caller's task is cancelled (nothing is left held).
    nonisolated(nonsending) public func acquire(_ request: AcquireRequest) async throws(LockError) -> AcquireGrant {
        guard request.waitMs > 0 else {
            return try await awaitingCallback { acquire(request, cancellation: $0, completion: $1) }
        }
        // What can be answered at once is answered by that one path, whoever
        // asks — but a cancelled caller goes the waiting path, which answers
        // it `.cancelled` and gives back whatever the store granted.
        if !Task.isCancelled, let grant = try acquireAtOnce(request) { return grant }
        return try await acquireByWaiting(request)
    }

    /// ``acquire(_:)`` without its try at once: for a request that
    /// ``acquireAtOnce(_:)`` has just found held, which would only be tried
    /// again. It waits as ``acquire(_:)`` would (or, not allowed to wait,
    /// is tried as ``acquire(_:)`` tries it on a store that may wait).
    nonisolated(nonsending) public func acquireByWaiting(_ request: AcquireRequest) async throws(LockError) -> AcquireGrant {
        guard request.waitMs > 0 else { return try await acquire(request) }
        try validate(request)
        return granted(try await acquireWaiting(request, token: request.token ?? LeaseToken.random()), for: request)
    }

    /// ``acquire(_:)`` answered through `completion`. A request that does
    /// not wait runs no task on a store that answers by callbacks (Redis):
    /// it is answered on the request's loop when the store's reply is read.
    /// One that may wait runs ``acquire(_:)`` in a task. `cancellation`
    /// stands for the caller's task (its client hung up): the request is
    /// answered ``LockError/cancelled`` and nothing is left held.
    public func acquire(_ request: AcquireRequest, cancellation: CallCancellation,
                        completion: @escaping @Sendable (Result<AcquireGrant, LockError>) -> Void) {
        guard request.waitMs <= 0 else {
            let task = Task {
                do throws(LockError) {
                    completion(.success(try await acquire(request)))
                } catch {
                    completion(.failure(error))
                }
            }
            return cancellation.onCancel { task.cancel() }
        }
        do throws(LockError) {
            // As in ``acquire(_:)``: a cancelled caller goes the store's way.
            if !cancellation.isCancelled, let grant = try acquireAtOnce(request) { return completion(.success(grant)) }
            try validate(request)
        } catch {
            return completion(.failure(error))
        }
        StoreAttempt(engine: self, attempt: firstAttempt(request), ownToken: request.token == nil, cancellation: cancellation,
                     answer: .grant(request, attemptsLeft: Self.deliveryAttempts, completion)).start()
    }

    /// Whether the store's operations never wait, so that ``acquireAtOnce(_:)``
    /// and ``releaseAtOnce(_:token:)`` can answer. Known once (asked on every
    /// request, comparing the store's existential with nil copied it).
    public let answersAtOnce: Bool

    /// ``acquire(_:)`` answered at once, without awaiting anything, on a
    /// store whose operations never wait (``ImmediateLockStore``). A request
    /// that may wait is tried once as one that does not (the store lets it
    /// pass no queued waiter): granted here when the name admits it now,
    /// else nil. Nil too on any other store: call ``acquire(_:)``.
    public func acquireAtOnce(_ request: AcquireRequest) throws(LockError) -> AcquireGrant? {
        guard let immediateStore else { return nil }
        try validate(request)
        let attempt = firstAttempt(request)
        for attemptNumber in 1...Self.deliveryAttempts {
            let started = MonotonicClock.now()
            let result = try immediateStore.acquireAtOnce(attempt)
            let delivery = delivery(result, of: attempt, ownToken: request.token == nil, startedAt: started,
                                    isLastAttempt: attemptNumber == Self.deliveryAttempts)
            if case .tooLate(let last) = delivery, case .granted(let lease, let isRetry, _) = result,
               let evenIfClaimed = Self.givesBack(lateGrantFound: isRetry, ownToken: request.token == nil, lastAttempt: last),
               !immediateStore.giveBackAtOnce(attempt.name, token: attempt.token, grant: .fence(lease.fence), evenIfClaimed: evenIfClaimed) {
                giveBackLater(attempt.name, token: attempt.token, grant: .fence(lease.fence), evenIfClaimed: evenIfClaimed)
            }
            // Held: a request that may wait queues on the waiting path.
            if request.waitMs > 0, case .held = delivery { return nil }
            if let grant = try Self.settled(delivery) { return granted(grant, for: request) }
        }
        throw .unavailable(Self.tooSlowDetail)
    }

    /// What one attempt of a request that does not wait comes to: the
    /// grant, nil to try again (it came too late), or the lock is held.
    private static func settled(_ delivery: Delivery) throws(LockError) -> AcquireGrant? {
        switch delivery {
        case .granted(let grant): return grant
        case .held(let holders, let retryAfterMs, _): throw .lockHeld(holders: holders, retryAfterMs: retryAfterMs)
        case .tooLate: return nil
        }
    }

    /// Counts a grant and tells the name's watchers.
    private func granted(_ grant: AcquireGrant, for request: AcquireRequest) -> AcquireGrant {
        metrics.granted(grant.lease, isRetry: grant.isRetry)
        if store.mayWatch(request.name) { store.publish(LockEvent(grant.isRetry ? .renewed : .acquired, lease: grant.lease, client: request.client)) }
        return grant
    }

    /// The one attempt of a request that does not wait, with a fresh token
    /// unless it brought one (then with a nonce: ``AcquireAttempt/nonce``).
    private func firstAttempt(_ request: AcquireRequest) -> AcquireAttempt {
        var attempt = AcquireAttempt(name: request.name, token: request.token ?? LeaseToken.random(), ttlMs: request.ttlMs,
                                     owner: request.owner, waiter: nil, mode: request.mode, limit: request.limit, client: request.client,
                                     durability: request.durability ?? configuration.defaultDurability)
        attempt.lockDelayMs = request.lockDelayMs
        if request.token != nil { attempt.nonce = .random() }
        return attempt
    }

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
            metrics.leaseEnded(.lost, name: name, token: token)
            throw .leaseLost
        }
        metrics.renewed(lease)
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
            if try releaseAtOnce(name, token: token) { return completion(.success(())) }
        } catch {
            return completion(.failure(error))
        }
        if store.mayWatch(name) {
            return store.releaseReportingHolder(name, token: token, cancellation: cancellation) { [self] holder in
                completion(Result { () throws(LockError) in try released(name, token: token, holder: try holder.get()) })
            }
        }
        store.release(name, token: token, cancellation: cancellation) { [self] ended in
            completion(Result { () throws(LockError) in try released(name, token: token, ended: try ended.get()) })
        }
    }

    /// ``release(_:token:)`` done at once, on a store whose operations never
    /// wait (``ImmediateLockStore``); false, with nothing done, on any other:
    /// call ``release(_:token:)``.
    public func releaseAtOnce(_ name: LockName, token: LeaseToken) throws(LockError) -> Bool {
        guard let immediateStore else { return false }
        if store.mayWatch(name) {
            try released(name, token: token, holder: immediateStore.releaseReportingHolderAtOnce(name, token: token))
        } else {
            try released(name, token: token, ended: immediateStore.releaseAtOnce(name, token: token))
        }
        return true
    }

    /// Counts a release the store answered; throws when it ended nothing.
    private func released(_ name: LockName, token: LeaseToken, ended: Bool) throws(LockError) {
        guard ended else {
            metrics.leaseEnded(.lost, name: name, token: token)
            throw .leaseLost
        }
        metrics.leaseEnded(.released, name: name, token: token)
    }

    /// Ends the lease with `fence`, whatever its token, and hands the lock on
    /// as a release would: an administrator's force-release. To its holder
    /// the lease is lost.
    /// - Throws: ``LockError/notHeld(fence:)`` when no live lease of `name`
    ///   has that fence.
    public func forceRelease(_ name: LockName, fence: Int64) async throws(LockError) {
        guard store.mayWatch(name) else {
            guard let token = try await store.forceRelease(name, fence: fence) else { throw .notHeld(fence: fence) }
            metrics.leaseEnded(.lost, name: name, token: token)
            return
        }
        guard let ended = try await store.forceReleaseReportingHolder(name, fence: fence) else { throw .notHeld(fence: fence) }
        metrics.leaseEnded(.lost, name: name, token: ended.token)
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

    /// The lock's holders (none for a free or never-used name).
    public func status(of name: LockName) async throws(LockError) -> LockStatus {
        try await store.status(of: name)
    }

    /// The holder of `name` whose live lease has `fence`: Chubby's
    /// CheckSequencer. One store round trip, as an inspect.
    /// - Throws: ``LockError/notHeld(fence:)`` when no live lease of `name`
    ///   has that fence (released, expired or never issued).
    public func holder(of name: LockName, fence: Int64) async throws(LockError) -> Holder {
        let status = try await store.status(of: name)
        guard let holder = status.holders.first(where: { $0.fence == fence && $0.remainingMs > 0 }) else {
            throw .notHeld(fence: fence)
        }
        return holder
    }

    /// One page of held locks.
    /// - Throws: ``LockError/invalidRequest(_:)`` for a bad prefix, limit or cursor.
    public func list(prefix: String, limit: Int, cursor: String?) async throws(LockError) -> LockPage {
        guard LockName.isValidPrefix(prefix) else {
            throw .invalidRequest("prefix may contain only A-Z a-z 0-9 . _ : - and at most \(LockName.maxLength) bytes")
        }
        guard (1...1000).contains(limit) else { throw .invalidRequest("limit must be between 1 and 1000") }
        return try await store.list(prefix: prefix, limit: limit, cursor: cursor)
    }

    /// Throws unless the store serves and lockd is not shutting down.
    public func checkReady() async throws(LockError) {
        guard !waiters.isShuttingDown else { throw .unavailable("lockd is shutting down") }
        try await store.checkReady()
    }

    /// How many acquires are waiting in this process now.
    public var waiterCount: Int { waiters.count }

    /// Answers every waiting acquire with ``LockError/unavailable(_:)`` and
    /// refuses new ones; the first step of a graceful shutdown.
    public func beginShutdown() {
        waiters.shutDown()
    }

    // MARK: Waiting

    private func acquireWaiting(_ request: AcquireRequest, token: LeaseToken) async throws(LockError) -> AcquireGrant {
        let waiter = WaiterID.random(mode: request.mode, limit: request.limit)
        let deadline = MonotonicClock.now() + UInt64(request.waitMs) * 1_000_000
        guard waiters.add(waiter, name: request.name, deadline: deadline) else { throw .unavailable("lockd is shutting down") }
        metrics.waiting(waiters.count)
        defer {
            waiters.remove(waiter)
            metrics.waiting(waiters.count)
        }
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
            let now = MonotonicClock.now()
            var attempt = AcquireAttempt(
                name: request.name, token: token, ttlMs: request.ttlMs, owner: request.owner, waiter: waiter,
                waitMs: Int64((deadline > now ? deadline - now : 0) / 1_000_000), mode: request.mode, limit: request.limit,
                client: request.client, durability: request.durability ?? configuration.defaultDurability)
            attempt.lockDelayMs = request.lockDelayMs
            if request.token != nil { attempt.nonce = .random() }
            // The holders are answered only when the wait ends: an attempt
            // with long to wait goes without (a lighter reply).
            attempt.needsHolders = attempt.waitMs < Self.holdersNeededWithinMs
            var outageUntil: UInt64?
            let outcome: Delivery?
            do throws(LockError) {
                outcome = try await attemptDeliverable(attempt, ownToken: request.token == nil, deadline: deadline)
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
                // (A lease found under lockd's own token is new to the client: ``delivery(_:of:ownToken:startedAt:isLastAttempt:)``.)
                return grant
            case .tooLate(let isLastAttempt):
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
                if Task.isCancelled {
                    if mayHoldLease { giveBackIfUnanswered(token, of: request) }
                    throw .cancelled
                }
                continue
            case .cancelled:
                await giveUp(waiter, request, token: token, mayHoldLease: mayHoldLease)
                throw .cancelled
            case .shutdown:
                await giveUp(waiter, request, token: token, mayHoldLease: mayHoldLease)
                throw .unavailable("lockd is shutting down")
            }
        }
    }

    /// Gives back, once the store serves, a lease an attempt that failed may
    /// still have taken: a store that stalled answers nothing in time (the
    /// caller is told 503) yet may run the attempt when it wakes, and the
    /// lease would then be held by nobody for its whole TTL. Only a token
    /// lockd made goes back: a client's own token may hold a lease the
    /// client has (a retry), and the client can release that itself.
    /// Its fence unknown, it is whatever lease the token holds — even one
    /// claimed: the request is answered without a lease, and only its own
    /// attempts knew the token (one may have found an earlier one's grant,
    /// whose give-back failed, and claimed it).
    private func giveBackIfUnanswered(_ token: LeaseToken, of request: AcquireRequest) {
        guard request.token == nil else { return }
        giveBackLater(request.name, token: token, grant: .any, evenIfClaimed: true)
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
        let now = MonotonicClock.now()
        let elapsedMs = Int64((now > handed.grantedBefore ? now - handed.grantedBefore : 0) / 1_000_000)
        guard !Task.isCancelled, elapsedMs < lease.ttlMs - lease.ttlMs / 10 else {
            if !Task.isCancelled {
                logger.warning("grant arrived too late to deliver; released it", metadata: [
                    "lock.name": "\(request.name)", "elapsed_ms": .stringConvertible(elapsedMs), "ttl_ms": .stringConvertible(lease.ttlMs),
                ])
            }
            await releaseQuietly(request.name, token: token, grant: .fence(handed.fence), evenIfClaimed: false)
            return nil
        }
        return AcquireGrant(lease: lease, isRetry: false, lockdMadeToken: request.token == nil)
    }

    // MARK: Delivery

    private enum Delivery {
        case granted(AcquireGrant)
        case held(holders: [Holder], retryAfterMs: Int64, hint: WaitHint)
        /// Granted, but too late to be useful: given back (see
        /// ``givesBack(lateGrantFound:ownToken:lastAttempt:)``); try anew,
        /// unless it was the request's last attempt.
        case tooLate(isLastAttempt: Bool)
    }

    private static let deliveryAttempts = 3
    /// A waiting attempt asks for the holders when less than this is left of its wait.
    private static let holdersNeededWithinMs: Int64 = 1_000
    private static let tooSlowDetail = "lockd could not deliver a lease before it would expire; try again"

    /// One store attempt, made safe to hand to a client: a grant is returned
    /// only while most of its TTL remains (measured on lockd's monotonic
    /// clock from before the request left), and a grant whose caller has
    /// gone is released at once.
    /// `ownToken`: the token is one lockd made for the request.
    /// `deadline` (monotonic ns): when the request's wait ends; a grant that
    /// comes too late after it is the request's last.
    nonisolated(nonsending) private func attemptDeliverable(_ attempt: AcquireAttempt, ownToken: Bool,
                                                           deadline: UInt64) async throws(LockError) -> Delivery {
        try await awaitingCallback {
            StoreAttempt(engine: self, attempt: attempt, ownToken: ownToken, cancellation: $0, answer: .delivery(until: deadline, $1)).start()
        }
    }

    /// One store attempt made safe to hand to a client (see
    /// ``attemptDeliverable(_:)``), and for an acquire that does not wait,
    /// its settling too: tried again while its grant comes too late (each
    /// such grant given back first), up to ``deliveryAttempts`` times. One
    /// object, whose method the store calls back, where a closure for each
    /// step (three a no-wait acquire) cost an allocation each.
    private final class StoreAttempt: Sendable {
        /// Who is answered, with what.
        enum Answer: Sendable {
            /// The attempt's delivery as it is (the waiting path), for a
            /// request whose wait ends at `until` (monotonic ns).
            case delivery(until: UInt64, StoreCompletion<Delivery>)
            /// An acquire that does not wait: its grant, counted.
            case grant(AcquireRequest, attemptsLeft: Int, @Sendable (Result<AcquireGrant, LockError>) -> Void)
        }

        private let engine: LockEngine
        private let attempt: AcquireAttempt
        /// Whether the token is one lockd made for the request (kept apart
        /// from the answer: read from it, the request was copied out).
        private let ownToken: Bool
        /// Stands for the caller's task.
        private let cancellation: CallCancellation
        private let answer: Answer
        /// When the attempt left: its grant is measured against its TTL from here.
        private let started = MonotonicClock.now()

        init(engine: LockEngine, attempt: AcquireAttempt, ownToken: Bool, cancellation: CallCancellation, answer: Answer) {
            self.engine = engine
            self.attempt = attempt
            self.ownToken = ownToken
            self.cancellation = cancellation
            self.answer = answer
        }

        func start() {
            engine.store.acquire(attempt, cancellation: cancellation, completion: received)
        }

        private func received(_ outcome: Result<AcquireResult, LockError>) {
            let result: AcquireResult
            switch outcome {
            case .success(let value):
                result = value
            case .failure(let error):
                guard error == .cancelled || cancellation.isCancelled else { return finish(.failure(error)) }
                // The attempt may have been granted before the reply was lost.
                // The request ends without a lease: a claim on lockd's own
                // token can only be one of its attempts', and any lease it
                // holds is theirs. A client's token may hold a lease the
                // client has (an earlier answer's, or a later request's):
                // only what this attempt was granted goes back, named by
                // its nonce, as its fence never came.
                let grant = attempt.nonce.map(GrantIdentity.attempt) ?? .any
                return engine.releaseQuietly(attempt.name, token: attempt.token, grant: grant, evenIfClaimed: ownToken) {
                    self.finish(.failure(.cancelled))
                }
            }
            if case .granted(let lease, _, let hint) = result, cancellation.isCancelled {
                engine.follow(hint, on: attempt.name, isOrdered: false)
                return engine.releaseQuietly(attempt.name, token: attempt.token, grant: .fence(lease.fence), evenIfClaimed: ownToken) {
                    self.finish(.failure(.cancelled))
                }
            }
            let delivery = engine.delivery(result, of: attempt, ownToken: ownToken, startedAt: started, isLastAttempt: isLastAttempt)
            if case .tooLate(let last) = delivery, case .granted(let lease, let isRetry, _) = result,
               let evenIfClaimed = LockEngine.givesBack(lateGrantFound: isRetry, ownToken: ownToken, lastAttempt: last) {
                return engine.releaseQuietly(attempt.name, token: attempt.token, grant: .fence(lease.fence), evenIfClaimed: evenIfClaimed) {
                    self.finish(.success(delivery))
                }
            }
            finish(.success(delivery))
        }

        /// Whether no attempt follows this one's grant if it comes too late:
        /// a no-wait acquire's last; a waiting one's once its wait is over
        /// (it tries until it is granted or its wait ends).
        private var isLastAttempt: Bool {
            switch answer {
            case .grant(_, let attemptsLeft, _): attemptsLeft <= 1
            case .delivery(let deadline, _): MonotonicClock.now() >= deadline
            }
        }

        private func finish(_ delivery: Result<Delivery, LockError>) {
            switch answer {
            case .delivery(_, let completion):
                completion(delivery)
            case .grant(let request, let attemptsLeft, let completion):
                let result: Result<AcquireGrant, LockError>
                do throws(LockError) {
                    guard let grant = try LockEngine.settled(try delivery.get()) else {
                        // Too slow: each too-late grant was given back as it came.
                        guard attemptsLeft > 1 else { return completion(.failure(.unavailable(LockEngine.tooSlowDetail))) }
                        var next = attempt
                        if next.nonce != nil { next.nonce = .random() }
                        return StoreAttempt(engine: engine, attempt: next, ownToken: ownToken, cancellation: cancellation,
                                            answer: .grant(request, attemptsLeft: attemptsLeft - 1, completion)).start()
                    }
                    result = .success(engine.granted(grant, for: request))
                } catch {
                    // The store's own failure: it may still run the attempt.
                    if case .unavailable = error { engine.giveBackIfUnanswered(attempt.token, of: request) }
                    result = .failure(error)
                }
                completion(result)
            }
        }
    }

    /// Whether a grant that came too late is given back now, and if so
    /// whether even when claimed (nil: not now). A new grant is, named by
    /// its fence and spared if claimed: the request's next attempt, under
    /// the same token, may find it after all (its give-back failed) and
    /// deliver it, claiming it. One an earlier attempt left under lockd's
    /// own token, found again (`lateGrantFound`: claimed by that asking),
    /// waits for the next attempt, which finds it once more with its TTL
    /// reset; after the last, no client will have it: given back even
    /// though claimed (only this request's attempts knew the token). Under
    /// a client's token a lease found is the client's own (a retry), for it
    /// to release.
    static func givesBack(lateGrantFound: Bool, ownToken: Bool, lastAttempt: Bool) -> Bool? {
        guard lateGrantFound else { return false }
        return ownToken && lastAttempt ? true : nil
    }

    /// What the store's answer to `attempt` (asked at `started`) lets the
    /// client have: a grant only while most of its TTL remains, else
    /// ``Delivery/tooLate(isLastAttempt:)`` (the caller gives a new grant back).
    ///
    /// A lease found under a token lockd made for the request (`ownToken`)
    /// is new to the client whatever the store says: no one else knows the
    /// token, so it is an earlier attempt's grant that never reached the
    /// client (its reply lost, or it came too late and was not given back).
    /// `isLastAttempt`: no attempt follows if the grant comes too late.
    private func delivery(_ result: AcquireResult, of attempt: AcquireAttempt, ownToken: Bool, startedAt started: UInt64,
                          isLastAttempt: Bool) -> Delivery {
        switch result {
        case .held(let holders, let retryAfterMs, let hint):
            return .held(holders: holders, retryAfterMs: retryAfterMs, hint: hint)
        case .granted(let lease, let isRetry, let hint):
            follow(hint, on: attempt.name, isOrdered: false)
            let elapsedMs = Int64((MonotonicClock.now() - started) / 1_000_000)
            // A tenth of the TTL is kept in hand for the response's way out.
            guard elapsedMs < lease.ttlMs - lease.ttlMs / 10 else {
                logger.warning("grant arrived too late to deliver; released it", metadata: [
                    "lock.name": "\(attempt.name)", "elapsed_ms": .stringConvertible(elapsedMs), "ttl_ms": .stringConvertible(lease.ttlMs),
                ])
                return .tooLate(isLastAttempt: isLastAttempt)
            }
            return .granted(AcquireGrant(lease: lease, isRetry: isRetry && !ownToken, lockdMadeToken: ownToken))
        }
    }

    /// ``releaseQuietly(_:token:grant:evenIfClaimed:)`` in a task, then `then`.
    private func releaseQuietly(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool,
                                then: @escaping @Sendable () -> Void) {
        Task {
            await releaseQuietly(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed)
            then()
        }
    }

    /// Gives back a grant whose answer never reached its caller (it hung up
    /// as the answer was being written), as a grant to a caller that left
    /// before it was answered is given back — under a token lockd made,
    /// even if claimed: no client ever had that token.
    public func giveBackUndelivered(_ grant: AcquireGrant) {
        let lease = grant.lease
        releaseQuietly(lease.name, token: lease.token, grant: .fence(lease.fence), evenIfClaimed: grant.lockdMadeToken, then: {})
    }

    /// Gives back a grant no client will have (see
    /// ``LockStore/giveBack(_:token:grant:evenIfClaimed:)``), even from a
    /// cancelled task; when the store cannot be told now, the upkeep task
    /// tells it later (a lease must not outlive its caller by its whole TTL).
    private func releaseQuietly(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool) async {
        let store = store
        let released = await Task {
            (try? await store.giveBack(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed)) != nil
        }.value
        guard !released else { return }
        logger.debug("could not give back a grant; trying again in the background", metadata: ["lock.name": "\(name)"])
        giveBackLater(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed)
    }

    // MARK: Validation

    /// The largest semaphore.
    public static let maxLimit = 1_000
    /// The longest lock delay, in milliseconds (Consul's limit too).
    public static let maxLockDelayMs: Int64 = 60_000

    private func validate(_ request: AcquireRequest) throws(LockError) {
        try validateTTL(request.ttlMs)
        guard (0...configuration.maxWaitMs).contains(request.waitMs) else {
            throw .invalidRequest("wait_ms must be between 0 and \(configuration.maxWaitMs)")
        }
        if let owner = request.owner, owner.utf8.count > configuration.maxOwnerBytes {
            throw .invalidRequest("owner must be at most \(configuration.maxOwnerBytes) bytes")
        }
        guard (1...Self.maxLimit).contains(request.limit) else {
            throw .invalidRequest("limit must be between 1 and \(Self.maxLimit)")
        }
        guard request.mode == .exclusive || request.limit == 1 else {
            throw .invalidRequest("mode shared takes no limit above 1: a reader-writer lock is not a semaphore")
        }
        guard (0...Self.maxLockDelayMs).contains(request.lockDelayMs) else {
            throw .invalidRequest("lock_delay_ms must be between 0 and \(Self.maxLockDelayMs)")
        }
        try validate(request.durability ?? configuration.defaultDurability)
    }

    /// A store without replicas (the in-memory one) can never confirm a
    /// grant on one: that is the request's (or the deployment's) mistake,
    /// not an outage to retry.
    private func validate(_ durability: Durability) throws(LockError) {
        guard durability == .primary || store.canReplicate else {
            throw .invalidRequest("durability replicated needs lockd on Redis with replicas; this lockd keeps its leases in memory")
        }
    }

    private func validateTTL(_ ttlMs: Int64) throws(LockError) {
        guard (configuration.minTTLMs...configuration.maxTTLMs).contains(ttlMs) else {
            throw .invalidRequest("ttl_ms must be between \(configuration.minTTLMs) and \(configuration.maxTTLMs)")
        }
    }
}
