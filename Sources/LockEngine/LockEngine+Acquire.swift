import LockdTransport

/// Taking a lock: the entry points, and the acquire that does not wait,
/// answered at once or by callback.
extension LockEngine {
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
    /// One that may wait runs ``acquire(_:)`` in a task — on Redis only
    /// once its first attempt finds the name held. `cancellation`
    /// stands for the caller's task (its client hung up): the request is
    /// answered ``LockError/cancelled`` and nothing is left held.
    /// `completion` is handed its result to keep (consumed): lent, the
    /// result was destroyed after the call, and a caller that keeps the
    /// grant copied it first (~0.25 k instructions a Redis acquire).
    public func acquire(_ request: AcquireRequest, cancellation: CallCancellation,
                        completion: @escaping @Sendable (consuming Result<AcquireGrant, LockError>) -> Void) {
        acquire(request, cancellation: cancellation, taskExecutor: nil, completion: completion)
    }

    /// ``acquire(_:cancellation:completion:)`` with `taskExecutor`: where
    /// the task of a request that goes on waiting runs on Redis (the
    /// request's loop, as the request's own task would; nil: the default
    /// executor).
    public func acquire(_ request: AcquireRequest, cancellation: CallCancellation, taskExecutor: (any TaskExecutor)?,
                        completion: @escaping @Sendable (consuming Result<AcquireGrant, LockError>) -> Void) {
        guard request.waitMs <= 0 else {
            // On a store that answers by callbacks (Redis) the first attempt
            // is made here too, in its waiting form: a free name's grant is
            // answered from its reply, with no task (``acquireWaitingByCallback(_:cancellation:taskExecutor:completion:)``).
            if !answersAtOnce {
                return acquireWaitingByCallback(request, cancellation: cancellation, taskExecutor: taskExecutor, completion: completion)
            }
            return cancellation.startTask { [self] in
                do throws(LockError) {
                    completion(.success(try await acquire(request)))
                } catch {
                    completion(.failure(error))
                }
            }
        }
        do throws(LockError) {
            // As in ``acquire(_:)``: a cancelled caller goes the store's way.
            // Asked only of a store that answers at once: called on any
            // other, only to find it does not, the try cost a Redis acquire
            // ~80 instructions (its frame, the store's existential copied
            // and the cancellation asked).
            if answersAtOnce, !cancellation.isCancelled, let grant = try acquireAtOnce(request) { return completion(.success(grant)) }
            try validate(request)
        } catch {
            return completion(.failure(error))
        }
        let attempt = firstAttempt(request)
        let answer = AttemptAnswer(engine: self, ownToken: request.token == nil, cancellation: cancellation,
                                   answer: .grant(attemptsLeft: Self.deliveryAttempts, completion))
        store.acquire(attempt, answering: answer)
    }

    /// ``acquire(_:)`` answered at once, without awaiting anything, on a
    /// store whose operations never wait (``ImmediateLockStore``). A request
    /// that may wait is tried once as one that does not (the store lets it
    /// pass no queued waiter): granted here when the name admits it now,
    /// else nil. Nil too on any other store: call ``acquire(_:)``.
    /// - Parameter startedAt: when the caller began on the request
    ///   (``MonotonicClock``), if it read the clock just before: the first
    ///   attempt's grant is measured against its TTL from there (a little
    ///   earlier than its own reading would be: never a grant delivered
    ///   later), and its hold counted from there. Nil: read here. (The
    ///   reading spared, and the ledger's after the grant, are two clock
    ///   calls, ~70 instructions an acquire.)
    public func acquireAtOnce(_ request: AcquireRequest, startedAt: UInt64? = nil) throws(LockError) -> AcquireGrant? {
        // The store is called through `immediateStore?`, not bound by
        // `guard let`: a bound existential is a copy, retained and released
        // around its use (~40 instructions a request); a call through the
        // optional lends the engine's own reference.
        guard answersAtOnce else { return nil }
        try validate(request)
        if storeCountsLeases { return try acquireCountingAtOnce(request, startedAt: startedAt) }
        let attempt = firstAttempt(request)
        let ownToken = request.token == nil
        for attemptNumber in 1...Self.deliveryAttempts {
            let started = attemptNumber == 1 ? startedAt ?? MonotonicClock.now() : MonotonicClock.now()
            // The store's answer matched as it comes, as ``AttemptAnswer/received(_:of:)``
            // matches a callback's: made into a ``Delivery`` and settled
            // after (``settled(_:)``), its lease was copied twice more and the
            // delivery's case asked again (~0.1 k instructions an acquire).
            let answer = try immediateStore?.acquireAtOnce(attempt)
            switch consume answer {
            case nil:
                return nil  // never: `answersAtOnce` says there is one
            case .held(let holders, let retryAfterMs, _)?:
                // Held: a request that may wait queues on the waiting path.
                if request.waitMs > 0 { return nil }
                throw .lockHeld(holders: holders, retryAfterMs: retryAfterMs)
            case .granted(let lease, let isRetry, let hint)?:
                follow(hint, on: attempt.name, isOrdered: false)
                if let deliverBy = deliverBy(lease, of: attempt.name, startedAt: started) {
                    return granted(AcquireGrant(lease: lease, isRetry: isRetry && !ownToken, lockdMadeToken: ownToken, deliverBy: deliverBy),
                                   name: request.name, client: request.client, at: started)
                }
                // Too late: given back, and tried anew unless it was the last attempt.
                giveBackLateAtOnce(attempt.name, token: attempt.token, fence: lease.fence, found: isRetry, ownToken: ownToken,
                                   lastAttempt: attemptNumber == Self.deliveryAttempts)
            }
        }
        throw .unavailable(Self.tooSlowDetail)
    }

    /// ``acquireAtOnce(_:startedAt:)`` on the in-memory store (``countingStore``),
    /// which counts the lease it grants from `started` (the ledger's grant
    /// time) under its own lock: told after, it looked the lease up again.
    /// The store reads the request where it is (``RequestAttempt``): no
    /// attempt is made of it.
    private func acquireCountingAtOnce(_ request: AcquireRequest, startedAt: UInt64?) throws(LockError) -> AcquireGrant? {
        let ownToken = request.token == nil
        let (token, nonce) = Self.firstToken(of: request)
        let durability = request.durability ?? configuration.defaultDurability
        for attemptNumber in 1...Self.deliveryAttempts {
            let started = attemptNumber == 1 ? startedAt ?? MonotonicClock.now() : MonotonicClock.now()
            // The answer matched as it comes (see ``acquireAtOnce(_:startedAt:)``).
            let answer = try withUnsafePointer(to: request) { (request) throws(LockError) in
                try withUnsafePointer(to: token) { (token) throws(LockError) in
                    try countingStore?.acquireAtOnce(terms: RequestAttempt(request, token: token, nonce: nonce, durability: durability),
                                                     countingFrom: started)
                }
            }
            switch consume answer {
            case nil:
                return nil  // never: `storeCountsLeases` says there is one
            case .held(let holders, let retryAfterMs, _)?:
                // Held: a request that may wait queues on the waiting path.
                if request.waitMs > 0 { return nil }
                throw .lockHeld(holders: holders, retryAfterMs: retryAfterMs)
            case .granted(let lease, let isRetry, let hint)?:
                follow(hint, on: request.name, isOrdered: false)
                if let deliverBy = deliverBy(lease, of: request.name, startedAt: started) {
                    return granted(AcquireGrant(lease: lease, isRetry: isRetry && !ownToken, lockdMadeToken: ownToken, deliverBy: deliverBy),
                                   name: request.name, client: request.client, at: started, countedByStore: true)
                }
                // Never delivered, never counted: what the store counted at
                // its grant (a new lease, or one found under lockd's own
                // token) is taken back before the give-back.
                if !(isRetry && !ownToken) { countingStore?.forgetHold(request.name, token: token) }
                // Too late: given back, and tried anew unless it was the last attempt.
                giveBackLateAtOnce(request.name, token: token, fence: lease.fence, found: isRetry, ownToken: ownToken,
                                   lastAttempt: attemptNumber == Self.deliveryAttempts)
            }
        }
        throw .unavailable(Self.tooSlowDetail)
    }

    /// A grant an at-once attempt found too late to deliver (``acquireAtOnce(_:startedAt:)``,
    /// ``acquireCountingAtOnce(_:startedAt:)``): given back as
    /// ``givesBack(lateGrantFound:ownToken:lastAttempt:)`` says — at once
    /// through the immediate store, or later when it cannot. One helper for
    /// both loops (which then try anew, unless it was the last attempt);
    /// reached only by a late grant, so kept out of them.
    @inline(never)
    private func giveBackLateAtOnce(_ name: LockName, token: LeaseToken, fence: Int64, found: Bool, ownToken: Bool, lastAttempt: Bool) {
        if let evenIfClaimed = Self.givesBack(lateGrantFound: found, ownToken: ownToken, lastAttempt: lastAttempt),
           immediateStore?.giveBackAtOnce(name, token: token, grant: .fence(fence), evenIfClaimed: evenIfClaimed) == false {
            giveBackLater(name, token: token, grant: .fence(fence), evenIfClaimed: evenIfClaimed)
        }
    }

    /// What one attempt of a request that does not wait comes to: the
    /// grant, nil to try again (it came too late), or the lock is held.
    /// Consumed: its grant is moved out, not copied (and the delivery then
    /// destroyed), on every acquire.
    static func settled(_ delivery: consuming Delivery) throws(LockError) -> AcquireGrant? {
        switch consume delivery {
        case .granted(let grant): return grant
        case .held(let holders, let retryAfterMs, _): throw .lockHeld(holders: holders, retryAfterMs: retryAfterMs)
        case .tooLate: return nil
        }
    }

    /// ``settled(_:)`` of an attempt's outcome as a store's callback gives
    /// it, consumed: its grant is moved out. `settled(try outcome.get())`
    /// copied the whole `Result` first, through the runtime's generic
    /// witness, which looks the type up (~0.2 k instructions a Redis acquire).
    static func settled(_ outcome: consuming Result<Delivery, LockError>) throws(LockError) -> AcquireGrant? {
        switch consume outcome {
        case .success(.granted(let grant)): return grant
        case .success(.held(let holders, let retryAfterMs, _)): throw .lockHeld(holders: holders, retryAfterMs: retryAfterMs)
        case .success(.tooLate): return nil
        case .failure(let error): throw error
        }
    }

    /// Counts a grant and tells the name's watchers; hands the grant back
    /// (consumed, so returned without a copy).
    func granted(_ grant: consuming AcquireGrant, for request: AcquireRequest) -> AcquireGrant {
        granted(grant, name: request.name, client: request.client)
    }

    /// ``granted(_:for:)`` for a request on `name` from `client` (an
    /// attempt's, which are the request's); `now`: the monotonic instant
    /// its hold counts from (nil: read here). `countedByStore`: the store
    /// counted it at its grant (``LeaseCountingStore/acquireAtOnce(_:countingFrom:)``).
    func granted(_ grant: consuming AcquireGrant, name: LockName, client: String?, at now: UInt64? = nil,
                 countedByStore: Bool = false) -> AcquireGrant {
        if !countedByStore {
            if storeCountsLeases {
                countingStore?.countHold(name, token: grant.lease.token, isRetry: grant.isRetry, at: now ?? MonotonicClock.now())
            } else {
                metrics.granted(grant.lease, isRetry: grant.isRetry, now: now ?? MonotonicClock.now())
            }
        }
        if mayWatch(name) { store.publish(LockEvent(grant.isRetry ? .renewed : .acquired, lease: grant.lease, client: client)) }
        return grant
    }

    /// The one attempt of a request that does not wait, with a fresh token
    /// unless it brought one (then with a nonce: ``AcquireAttempt/nonce``).
    /// Made whole by one initializer: set field by field after it, the
    /// attempt was built apart and copied (~0.25 k instructions an acquire).
    /// The client's token is looked at once (`token ?? random()` and
    /// `token == nil ? nil : nonce` copied the optional token three times
    /// and destroyed the copies, ~30 instructions an acquire).
    @inline(__always)
    private func firstAttempt(_ request: AcquireRequest) -> AcquireAttempt {
        let (token, nonce) = Self.firstToken(of: request)
        return AcquireAttempt(name: request.name, token: token, ttlMs: request.ttlMs,
                              owner: request.owner, waiter: nil, mode: request.mode, limit: request.limit, client: request.client,
                              durability: request.durability ?? configuration.defaultDurability, lockDelayMs: request.lockDelayMs,
                              nonce: nonce)
    }

    /// The token and nonce of a request's first attempt: a fresh token
    /// unless it brought one (then with a nonce: ``AcquireAttempt/nonce``).
    @inline(__always)
    private static func firstToken(of request: AcquireRequest) -> (LeaseToken, AttemptNonce?) {
        if let token = request.token { (token, .random()) } else { (.random(), nil) }
    }
}
