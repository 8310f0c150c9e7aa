extension LockClient {
    /// Takes the lock, or returns `nil` if it stays held by someone else for the whole `wait`.
    ///
    /// The counterpart of `TryAcquireAsync` in .NET's distributed locks:
    ///
    /// ```swift
    /// if let lease = try await locks.tryAcquire("orders:4711", ttl: .seconds(30), wait: .seconds(5)) {
    ///     do {
    ///         try await orders.write(batch, fence: lease.fence)
    ///     } catch {
    ///         try? await lease.release()   // on the error path too
    ///         throw error
    ///     }
    ///     try await lease.release()
    /// } else {
    ///     print("someone else is on it")
    /// }
    /// ```
    ///
    /// The lease renews itself until released (see ``Lease``). Cancelling the
    /// calling task cancels the request, and lockd drops this waiter; a lease
    /// granted in that very moment is released. While lockd cannot be reached or
    /// answers 503, the acquire is retried for the whole `wait`, and at least for
    /// the client's `timeout`.
    ///
    /// - Parameters:
    ///   - name: 1–255 bytes of `[A-Za-z0-9._:-]`, not `.` or `..`; `:` for hierarchy.
    ///   - ttl: How long the lease lasts unless renewed (100 ms to 24 h): how long
    ///     the lock stays taken if this process dies without releasing it.
    ///   - wait: How long to wait for the lock to come free; `.zero` tries once.
    ///   - autoRenew: Whether the lease renews itself in the background (`false`:
    ///     call ``Lease/renew(ttl:durability:)`` yourself before it runs out).
    ///   - limit: How many leases the name grants at once (1–1000); above 1 it is
    ///     a semaphore. Every holder and waiter of a name must agree on it.
    ///   - mode: ``LockMode/exclusive``, or ``LockMode/shared`` for a reader lease.
    ///   - durability: ``Durability/replicated`` to have the grant (and the
    ///     lease's renewals) confirmed by a Redis replica; `nil`: the server's default.
    ///   - lockDelay: If the lease expires instead of being released (this
    ///     process paused or died holding it), the lock stays unavailable this
    ///     much longer (up to 60 s; Consul's lock-delay), so that writes still in
    ///     flight drain before the next holder starts. A release clears it.
    /// - Returns: The lease, or `nil` if the lock is held.
    /// - Throws: ``LockError`` other than ``LockError/held(holders:retryAfter:)``, or
    ///   `CancellationError`.
    public func tryAcquire(
        _ name: String,
        ttl: Duration = .seconds(30),
        wait: Duration = .zero,
        autoRenew: Bool = true,
        limit: Int = 1,
        mode: LockMode = .exclusive,
        durability: Durability? = nil,
        lockDelay: Duration = .zero
    ) async throws -> Lease? {
        do {
            return try await acquire(name, ttl: ttl, wait: wait, autoRenew: autoRenew, limit: limit, mode: mode, durability: durability,
                                     lockDelay: lockDelay)
        } catch LockError.held {
            return nil
        }
    }

    /// Takes the lock, waiting until it is granted (`wait: nil`, the default) or
    /// for at most `wait`.
    ///
    /// The counterpart of `AcquireAsync` in .NET's distributed locks and of
    /// etcd's `Mutex.Lock(ctx)`: without a `wait`, it returns when the lock is
    /// granted or throws `CancellationError` when its task is cancelled.
    ///
    /// ```swift
    /// let lease = try await locks.acquire("reports:daily", ttl: .minutes(5))
    /// do {
    ///     try await buildReport(fence: lease.fence)
    /// } catch {
    ///     try? await lease.release()
    ///     throw error
    /// }
    /// try await lease.release()
    /// ```
    ///
    /// The same call takes a reader lease of a reader-writer lock (.NET's
    /// `AcquireReadLockAsync`) or one slot of a semaphore (`AcquireAsync` on a
    /// `RedisDistributedSemaphore`):
    ///
    /// ```swift
    /// let reader = try await locks.acquire("catalog", mode: .shared)   // beside other readers
    /// let writer = try await locks.acquire("catalog")                  // alone
    /// let slot = try await locks.acquire("gpu-pool", limit: 4)         // one of 4 at once
    /// ```
    ///
    /// A wait longer than lockd's `--max-wait-ms` is served by asking again. While
    /// lockd cannot be reached or answers 503 — a restart, a rolling deploy — the
    /// acquire is retried with backoff, honouring `Retry-After`, for the whole
    /// wait (without one: until granted or cancelled), and at least for the
    /// client's `timeout`. Retrying is safe: every request carries the same
    /// client-made token, and lockd answers a token that already holds the lock
    /// with that lease. (Should the acquire give up on such a failure, a lease
    /// granted to an attempt whose answer was lost ends at its TTL.)
    ///
    /// - Parameters:
    ///   - name: 1–255 bytes of `[A-Za-z0-9._:-]`, not `.` or `..`; `:` for hierarchy.
    ///   - ttl: How long the lease lasts unless renewed (100 ms to 24 h).
    ///   - wait: How long to wait for the lock to come free; `nil` waits until it
    ///     is granted or the task is cancelled; `.zero` tries once.
    ///   - autoRenew: Whether the lease renews itself in the background.
    ///   - limit: How many leases the name grants at once (1–1000); above 1 it is
    ///     a semaphore. Every holder and waiter of a name must agree on it.
    ///   - mode: ``LockMode/exclusive``, or ``LockMode/shared`` for a reader lease.
    ///   - durability: ``Durability/replicated`` to have the grant (and the
    ///     lease's renewals) confirmed by a Redis replica; `nil`: the server's default.
    ///   - lockDelay: If the lease expires instead of being released (this
    ///     process paused or died holding it), the lock stays unavailable this
    ///     much longer (up to 60 s; Consul's lock-delay), so that writes still in
    ///     flight drain before the next holder starts. A release clears it.
    /// - Returns: The lease.
    /// - Throws: ``LockError/held(holders:retryAfter:)`` if the lock stayed held for
    ///   the whole `wait`; ``LockError/limitMismatch(limit:)`` if the name is in use
    ///   with another `limit`; other ``LockError`` cases; `CancellationError` if the
    ///   calling task is cancelled.
    public func acquire(
        _ name: String,
        ttl: Duration = .seconds(30),
        wait: Duration? = nil,
        autoRenew: Bool = true,
        limit: Int = 1,
        mode: LockMode = .exclusive,
        durability: Durability? = nil,
        lockDelay: Duration = .zero
    ) async throws -> Lease {
        let request = try acquireRequest(name, ttl: ttl, limit: limit, mode: mode, durability: durability, lockDelay: lockDelay)
        return try await acquire(name, request, wait: wait, autoRenew: autoRenew)
    }

    /// How many times in a row a grant that came late is asked for again before it
    /// is taken as it is (a lockd that answers every request late).
    static let lateGrantRetries = 2

    /// The acquire request for these arguments, with a fresh client-made token;
    /// throws ``LockError/invalidRequest(detail:)`` for a bad name.
    func acquireRequest(
        _ name: String, ttl: Duration, limit: Int, mode: LockMode, durability: Durability?, lockDelay: Duration
    ) throws -> Components.Schemas.AcquireRequest {
        try LockName.validate(name)
        // The defaults go unsent, so that a lockd that predates them is asked nothing new.
        return Components.Schemas.AcquireRequest(
            ttlMs: ttl.wholeMilliseconds,
            owner: owner,
            token: LeaseToken.random(),
            limit: limit == 1 ? nil : limit,
            mode: mode == .exclusive ? nil : .shared,
            durability: durability?.wire,
            lockDelayMs: lockDelay == .zero ? nil : lockDelay.wholeMilliseconds
        )
    }

    /// Sends `request` (which carries the client-made token) until lockd grants it,
    /// the plan gives up, or the task is cancelled. Every public acquire ends here,
    /// so that a new acquire field is set once, in the request. Runs on the
    /// caller's executor, without a hop in and out.
    nonisolated(nonsending) func acquire(
        _ name: String,
        _ request: Components.Schemas.AcquireRequest,
        wait: Duration?,
        autoRenew: Bool
    ) async throws -> Lease {
        var request = request
        var plan = AcquirePlan(start: .now, wait: wait, timeout: remote.timeout)
        var cause: LockError?
        var lateGrants = 0
        do {
            while true {
                let sentAt = ContinuousClock.now
                let asked = plan.waitToAsk(now: sentAt, limit: remote.waitLimit.current)
                request.waitMs = asked.wholeMilliseconds
                let granted: Components.Schemas.Lease
                do {
                    granted = try await remote.acquire(name, request, wait: asked)
                } catch let error as LockError {
                    if case .invalidRequest(let detail) = error, asked > .zero,
                        remote.waitLimit.lower(after: asked, refusal: detail)
                    {
                        continue
                    }
                    cause = error.orEarlier(cause)
                    switch plan.next(after: error, now: .now, sentAt: sentAt, asked: asked) {
                    case .fail: throw cause ?? error
                    case .retry(let delay): try await Task.sleep(for: delay)
                    }
                    continue
                }
                // lockd starts a lease's TTL when it grants it, which may be long after the
                // request was sent (it waited in the queue, or lockd answered late), but the
                // client can count only from the send: a grant that came later than a renewal
                // interval might be taken for lost on arrival. It is asked for again at once
                // with the same token, which lockd answers with that lease, its TTL restarted
                // (or, had it run out meanwhile, as a new acquire): the deadline then counts
                // from that request.
                if ContinuousClock.now - sentAt >= .milliseconds(granted.ttlMs) / 3, lateGrants < Self.lateGrantRetries {
                    lateGrants += 1
                    continue
                }
                let lease = Lease(granted, sentAt: sentAt, remote: remote, durability: request.durability, autoRenew: autoRenew)
                try Task.checkCancellation()
                if autoRenew { lease.startRenewing() }
                return lease
            }
        } catch is CancellationError {
            // lockd may have granted the lease just as the request was cancelled (or
            // an earlier attempt whose answer was lost): the token is ours, so
            // release whatever it holds.
            if let token = request.token { await remote.releaseIgnoringCancellation(name, token: token) }
            throw CancellationError()
        }
    }
}
