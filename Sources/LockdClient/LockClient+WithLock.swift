extension LockClient {
    /// Takes the lock, runs `body` while the lease renews itself, and gives the
    /// lock back when `body` returns, throws, or its task is cancelled.
    ///
    /// The counterpart of `await using (var handle = await lock.AcquireAsync(name))`
    /// in .NET's distributed locks:
    ///
    /// ```swift
    /// let total = try await locks.withLock("orders:4711", ttl: .seconds(30), wait: .seconds(5)) { lease in
    ///     try await orders.settle(fence: lease.fence)
    /// }
    /// ```
    ///
    /// If the lease is lost while `body` runs — lockd says the token no longer
    /// holds the lock, or no renewal gets through before the TTL runs out —
    /// `body`'s task is cancelled (within one renewal interval, about a third of
    /// the TTL), and once `body` has returned `withLock` throws
    /// ``LockError/leaseLost``. `body` runs in a child task on the caller's actor,
    /// so task cancellation is how it learns; check `Task.isCancelled` or let
    /// cancellable calls throw.
    ///
    /// - Parameters:
    ///   - name: 1–255 bytes of `[A-Za-z0-9._:-]`, not `.` or `..`.
    ///   - ttl: The lease's time to live (100 ms to 24 h): how long the lock stays
    ///     taken if this process dies without releasing it.
    ///   - wait: How long to wait for the lock to come free; `nil` (the default)
    ///     waits until it is granted or the task is cancelled; `.zero` tries once.
    ///   - limit: How many leases the name grants at once (1–1000); above 1 it is
    ///     a semaphore.
    ///   - mode: ``LockMode/exclusive``, or ``LockMode/shared`` for a reader lease.
    ///   - durability: ``Durability/replicated`` to have the grant and its
    ///     renewals confirmed by a Redis replica; `nil`: the server's default.
    ///   - lockDelay: If the lease expires instead of being released (this
    ///     process paused or died holding it), the lock stays unavailable this
    ///     much longer (up to 60 s; Consul's lock-delay), so that writes still in
    ///     flight drain before the next holder starts. A release clears it.
    ///   - isolation: The actor `body` runs on; the caller's by default.
    ///   - body: The work the lock protects; gets the lease.
    /// - Returns: What `body` returns.
    /// - Throws: ``LockError/held(holders:retryAfter:)`` if the lock stays held for
    ///   `wait`; ``LockError/leaseLost`` if the lease was lost before `body` was
    ///   done (the work may have run unprotected for a while); otherwise whatever
    ///   `body` throws; other ``LockError`` cases or `CancellationError` from the
    ///   acquire.
    public func withLock<T>(
        _ name: String,
        ttl: Duration = .seconds(30),
        wait: Duration? = nil,
        limit: Int = 1,
        mode: LockMode = .exclusive,
        durability: Durability? = nil,
        lockDelay: Duration = .zero,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Lease) async throws -> T
    ) async throws -> T {
        // Every step runs where the caller runs (the requests' answers resume it
        // there), and the body in a child task that starts at once on the same
        // thread: no hop to the transport's loop and back for the cycle, nor to
        // another thread for the body (benchmarks/sdk).
        let request = try acquireRequest(name, ttl: ttl, limit: limit, mode: mode, durability: durability, lockDelay: lockDelay)
        let lease = if isolation == nil {
            try await acquire(name, request, wait: wait, autoRenew: true)
        } else {
            try await acquireOffTheActor(name, request, wait: wait)
        }
        // The body's value, kept where it is written rather than in a `Result<T, any Error>`:
        // every generic type of `T` made here (the result, the task group of its handoff)
        // was looked up in the runtime's metadata caches every cycle: ~8k instructions a cycle with
        // what came with them (benchmarks/sdk).
        let value = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { value.deallocate() }
        let failure = await lease.run(body, into: value, on: isolation)
        // Judged before the release, which may take long enough for the TTL to pass.
        let lostWhileRunning = lease.isLost
        let goneAtRelease = await lease.releaseIgnoringCancellation()
        if lostWhileRunning {
            if failure == nil { value.deinitialize(count: 1) }
            throw LockError.leaseLost
        }
        if let failure { throw failure }
        let returned = value.move()
        if goneAtRelease { throw LockError.leaseLost }
        return returned
    }

    /// An actor-isolated caller's acquire, off its actor (as every acquire ran
    /// before): the answer resumes a task that arms the lease's renewal at once,
    /// even while the actor is busy — on the actor, a lease granted then would
    /// go unrenewed until the actor is free, and could lapse.
    @concurrent private func acquireOffTheActor(
        _ name: String, _ request: Components.Schemas.AcquireRequest, wait: Duration?
    ) async throws -> Lease {
        try await acquire(name, request, wait: wait, autoRenew: true)
    }
}

extension Lease {
    /// Runs `body` in a child task on `isolation`, cancelling that task if the
    /// lease is lost first; initializes `value` with what `body` returned, or
    /// returns what it threw (then `value` is left uninitialized).
    ///
    /// A child task, because cancellation is per task: cancelling the caller's own
    /// task would leave it cancelled after `withLock` returned. The loss cancels it
    /// directly (``cancelledOnLoss(_:)``): no watcher task beside it.
    func run<T>(
        _ body: (Lease) async throws -> T,
        into value: UnsafeMutablePointer<T>,
        on isolation: isolated (any Actor)?
    ) async -> (any Error)? {
        await withoutActuallyEscaping(body) { body in
            // Nothing below is generic over `T` but this closure: no type of `T` is
            // made at run time for the task group or what its child returns.
            let call = BodyCall { lease in
                do {
                    value.initialize(to: try await body(lease))
                    return nil
                } catch {
                    return error
                }
            }
            return await withTaskGroup(of: (any Error)?.self, isolation: isolation) { group in
                if isolation == nil {
                    // Starts on this thread, where a nonisolated caller's code runs
                    // anyway: no other thread woken to run it (and the caller's own
                    // task not resumed from one afterwards) when the body is quick.
                    group.addImmediateTask {
                        await self.cancelledOnLoss { await Self.run(call, self, on: isolation) }
                    }
                } else {
                    group.addTask {
                        await self.cancelledOnLoss { await Self.run(call, self, on: isolation) }
                    }
                }
                // The one child always reports how the body ended.
                guard let ended = await group.next() else { return CancellationError() }
                return ended
            }
        }
    }

    /// Calls `body` on `isolation`, in the child task; returns what it threw.
    private static func run(_ body: BodyCall, _ lease: Lease, on isolation: isolated (any Actor)?) async -> (any Error)? {
        await body.call(lease)
    }

    /// Releases even when the calling task is cancelled; other failures leave the
    /// lease to end at its TTL.
    /// - Returns: Whether lockd answered that the lease was already gone.
    nonisolated(nonsending) func releaseIgnoringCancellation() async -> Bool {
        // Over SocketTransport the release's exchange ignores cancellation: it runs
        // in this task, without a task of its own, unless a retry's wait is cut
        // short by a cancellation — then a task takes the release up again.
        if remote.direct != nil {
            do {
                try await releaseOnCallersExecutor()
                return false
            } catch LockError.leaseLost {
                return true
            } catch is CancellationError {
            } catch {
                return false
            }
        }
        // Why a task of its own: see RemoteLocks.releaseIgnoringCancellation.
        return await Task(executorPreference: remote.executor) {
            do {
                try await self.release()
                return false
            } catch LockError.leaseLost {
                return true
            } catch {
                return false
            }
        }.value
    }
}

/// Carries `withLock`'s body, which writes what it returns into the caller's
/// storage, from the caller's task to the child task that runs it.
///
/// `@unchecked Sendable` is safe here: the body and the storage it writes are
/// only ever touched by one task at a time. The caller's task hands the body over
/// when it creates the child task and then only awaits the task group until that
/// child has finished (task creation and completion order the accesses); the
/// child runs the body on the caller's own actor (`isolation`), or — for a
/// nonisolated caller — while the caller waits in `addImmediateTask` (the body's
/// first steps, on the caller's thread) or is suspended in the group. The
/// storage is read by the caller only after the child has returned.
private struct BodyCall: @unchecked Sendable {
    /// Runs the body on the caller's executor (the child's, on `isolation`), as the body ran before.
    let call: nonisolated(nonsending) (Lease) async -> (any Error)?
}
