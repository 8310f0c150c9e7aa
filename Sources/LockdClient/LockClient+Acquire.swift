import Foundation

extension LockClient {
    /// Takes the lock, or returns `nil` if it stays held by someone else for the whole `wait`.
    ///
    /// The counterpart of `TryAcquireAsync` in .NET's distributed locks:
    ///
    /// ```swift
    /// if let lease = try await locks.tryAcquire("orders:4711", ttl: .seconds(30), wait: .seconds(5)) {
    ///     try await orders.write(batch, fence: lease.fence)
    ///     try await lease.release()
    /// } else {
    ///     print("someone else is on it")
    /// }
    /// ```
    ///
    /// Cancelling the calling task cancels the request, and lockd drops this
    /// waiter; a lease granted in that very moment is released.
    ///
    /// - Parameters:
    ///   - name: 1–255 bytes of `[A-Za-z0-9._:-]`, not `.` or `..`; `:` for hierarchy.
    ///   - ttl: How long the lease lasts unless renewed (100 ms to 24 h).
    ///   - wait: How long lockd may wait for the lock to come free; `.zero` tries once.
    /// - Returns: The lease, or `nil` if the lock is held.
    /// - Throws: ``LockError`` other than ``LockError/held(holders:retryAfter:)``, or
    ///   `CancellationError`.
    public func tryAcquire(_ name: String, ttl: Duration = .seconds(30), wait: Duration = .zero) async throws -> Lease? {
        do {
            return try await acquire(name, ttl: ttl, wait: wait)
        } catch LockError.held {
            return nil
        }
    }

    /// Takes the lock, or throws ``LockError/held(holders:retryAfter:)`` if it stays
    /// held by someone else for the whole `wait`.
    ///
    /// ```swift
    /// do {
    ///     let lease = try await locks.acquire("reports:daily", ttl: .minutes(5))
    ///     try await buildReport(fence: lease.fence)
    ///     try await lease.release()
    /// } catch LockError.held(let holders, let retryAfter) {
    ///     print("held by \(holders.map(\.fence)); next chance in \(retryAfter)")
    /// }
    /// ```
    ///
    /// The acquire carries a token the client makes, so a request whose answer is
    /// lost on the network is retried once and gets the same lease back.
    ///
    /// - Parameters:
    ///   - name: 1–255 bytes of `[A-Za-z0-9._:-]`, not `.` or `..`; `:` for hierarchy.
    ///   - ttl: How long the lease lasts unless renewed (100 ms to 24 h).
    ///   - wait: How long lockd may wait for the lock to come free; `.zero` tries once.
    /// - Returns: The lease.
    /// - Throws: ``LockError``, or `CancellationError` if the calling task is cancelled.
    public func acquire(_ name: String, ttl: Duration = .seconds(30), wait: Duration = .zero) async throws -> Lease {
        try LockName.validate(name)
        let token = LeaseToken.random()
        let request = Components.Schemas.AcquireRequest(
            ttlMs: ttl.wholeMilliseconds,
            waitMs: wait.wholeMilliseconds,
            owner: owner,
            token: token
        )
        var retried = false
        while true {
            let sentAt = ContinuousClock.now
            let granted: Components.Schemas.Lease
            do {
                granted = try await remote.acquire(name, request, wait: wait)
            } catch LockError.transport(let underlying) where !retried && !Self.isTimeout(underlying) {
                retried = true
                continue
            } catch is CancellationError {
                // lockd may have granted the lease just as the request was cancelled:
                // the token is ours, so release whatever it holds.
                await remote.releaseIgnoringCancellation(name, token: token)
                throw CancellationError()
            }
            let lease = Lease(granted, sentAt: sentAt, remote: remote)
            if Task.isCancelled {
                _ = await lease.releaseIgnoringCancellation()
                throw CancellationError()
            }
            return lease
        }
    }

    private static func isTimeout(_ error: any Error) -> Bool {
        (error as? URLError)?.code == .timedOut
    }
}
