extension LockClient {
    /// Renews the lease that `token` holds on `name`, for a holder that kept only
    /// the token — a shell script between `lockd acquire` and `lockd release`, a
    /// job handed the token by the process that acquired — and returns it as a
    /// ``Lease`` that does not renew itself.
    ///
    /// ```swift
    /// let lease = try await locks.renew("reports:daily", token: savedToken, ttl: .minutes(5))
    /// try await buildReport(fence: lease.fence)
    /// try await lease.release()
    /// ```
    ///
    /// While lockd cannot be reached or answers 503, the renewal is retried for up
    /// to the client's `timeout`.
    ///
    /// - Parameters:
    ///   - name: The lock's name.
    ///   - token: The lease's token, as the acquire returned it.
    ///   - ttl: The new time to live, 100 ms to 24 h; `nil` keeps the current one.
    ///   - durability: ``Durability/replicated`` to have the renewal confirmed by
    ///     a Redis replica; `nil`: the server's default.
    /// - Returns: The renewed lease: same token and fence, a new expiry.
    /// - Throws: ``LockError/leaseLost`` if `token` holds no lease on `name` (any
    ///   more); ``LockError/invalidRequest(detail:)`` for a malformed name or token;
    ///   other ``LockError`` cases if lockd could not be asked in time.
    public func renew(_ name: String, token: String, ttl: Duration? = nil, durability: Durability? = nil) async throws -> Lease {
        try LockName.validate(name)
        return try await remote.retrying(until: .now + remote.timeout) { deadline in
            let sentAt = ContinuousClock.now
            let wire = try await remote.renew(name, token: token, ttl: ttl, durability: durability?.wire, until: deadline)
            return Lease(wire, sentAt: sentAt, remote: remote, durability: durability?.wire)
        }
    }

    /// Releases the lease that `token` holds on `name`: ``Lease/release()`` for a
    /// holder that kept only the token.
    ///
    /// ```swift
    /// try await locks.release("reports:daily", token: savedToken)
    /// ```
    ///
    /// While lockd cannot be reached or answers 503, the release is retried for up
    /// to the client's `timeout`.
    ///
    /// - Parameters:
    ///   - name: The lock's name.
    ///   - token: The lease's token.
    /// - Throws: ``LockError/leaseLost`` if `token` held no lease on `name` (it had
    ///   expired, or was released before); other ``LockError`` cases if lockd could
    ///   not be asked in time — the lease then ends at its TTL.
    public func release(_ name: String, token: String) async throws {
        try LockName.validate(name)
        // A release whose answer was lost may have gone through, and so may one
        // answered 503 (lockd lost its store after sending it there, as
        // Lease.release knows): lockd's "no such lease" to the next attempt is
        // then our own doing.
        var mayHaveGoneThrough = false
        do {
            try await remote.retryingEnd(until: .now + remote.timeout, uncertain: { mayHaveGoneThrough = true }) { deadline in
                try await remote.release(name, token: token, until: deadline)
            }
        } catch LockError.leaseLost where mayHaveGoneThrough {
            return
        }
    }
}
