extension LockClient {
    /// Takes the lock, runs `body` while keeping the lease alive, and gives the lock
    /// back when `body` returns, throws, or its task is cancelled.
    ///
    /// The counterpart of `await using (var handle = await lock.TryAcquireAsync(name))`
    /// in .NET's distributed locks:
    ///
    /// ```swift
    /// let total = try await locks.withLock("orders:4711", ttl: .seconds(30), wait: .seconds(5)) { lease in
    ///     try await orders.settle(fence: lease.fence)
    /// }
    /// ```
    ///
    /// While `body` runs, the lease is renewed in the background at about a third of
    /// its TTL (sooner after a failed renewal). If it is lost anyway — lockd says the
    /// token no longer holds the lock, or no renewal gets through before the TTL runs
    /// out — ``Lease/isLost`` turns `true` and ``Lease/waitUntilLost()`` returns, within
    /// one renewal interval; `body` is not interrupted, so check or race those where
    /// it matters.
    ///
    /// - Parameters:
    ///   - name: 1–255 bytes of `[A-Za-z0-9._:-]`, not `.` or `..`.
    ///   - ttl: The lease's time to live (100 ms to 24 h): how long the lock stays
    ///     taken if this process dies without releasing it.
    ///   - wait: How long lockd may wait for the lock to come free; `.zero` tries once.
    ///   - isolation: The actor `body` runs on; the caller's by default.
    ///   - body: The work the lock protects; gets the lease.
    /// - Returns: What `body` returns.
    /// - Throws: ``LockError/held(holders:retryAfter:)`` if the lock stays held for
    ///   `wait`; whatever `body` throws; ``LockError/leaseLost`` if `body` returned
    ///   but the lease was lost before it did (the work ran unprotected for a while);
    ///   other ``LockError`` cases or `CancellationError` from the acquire.
    public func withLock<T>(
        _ name: String,
        ttl: Duration = .seconds(30),
        wait: Duration = .zero,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Lease) async throws -> T
    ) async throws -> T {
        let lease = try await acquire(name, ttl: ttl, wait: wait)
        let outcome: Result<T, any Error>
        do {
            outcome = .success(
                try await withThrowingTaskGroup(of: Void.self, isolation: isolation) { group in
                    group.addTask { await lease.keepAlive() }
                    defer { group.cancelAll() }
                    return try await body(lease)
                }
            )
        } catch {
            outcome = .failure(error)
        }
        // Judged before the release, which may take long enough for the TTL to pass.
        let lostWhileRunning = lease.isLost
        let goneAtRelease = await lease.releaseIgnoringCancellation()
        let value = try outcome.get()
        if lostWhileRunning || goneAtRelease { throw LockError.leaseLost }
        return value
    }
}

extension Lease {
    /// Renews the lease until it is lost or released, or the task is cancelled:
    /// at a third of the TTL after the last renewal was sent, and after a failed
    /// attempt again soon, until the TTL has run out.
    func keepAlive() async {
        var lastAttemptFailed = false
        while phase == .held {
            let (deadline, renewedAt, ttl) = timing
            let now = ContinuousClock.now
            let next =
                lastAttemptFailed
                ? now + max(.milliseconds(20), min(.seconds(1), (deadline - now) / 4))
                : renewedAt + ttl / 3
            do {
                try await Task.sleep(until: min(next, deadline), clock: .continuous)
            } catch {
                return
            }
            guard phase == .held else { return }
            do {
                // Bounded by the deadline: a renewal that has not come back by then
                // cannot keep the lease, which is then lost.
                try await renew(ttl: nil, until: deadline)
                lastAttemptFailed = false
            } catch is CancellationError {
                return
            } catch LockError.leaseLost {
                return
            } catch {
                lastAttemptFailed = true
            }
        }
    }
}
