extension LockClient {
    /// Ends the live lease on `name` with `fence`, whatever its token: an
    /// administrator's way out when a holder is stuck and its TTL is long.
    ///
    /// The client's bearer token needs the `admin` grant on `name`; lockd logs
    /// the force-release with the client id, wakes the waiters as a release
    /// would, and the holder's next renew or release finds its lease lost.
    /// Take the fence from ``status(_:)``:
    ///
    /// ```swift
    /// if let stuck = try await client.status("orders:4711").holders.first {
    ///     try await client.forceRelease("orders:4711", fence: stuck.fence)
    /// }
    /// ```
    ///
    /// While lockd cannot be reached or answers 503, the call is retried for up
    /// to the client's `timeout`.
    ///
    /// - Parameters:
    ///   - name: The lock's name.
    ///   - fence: The fence of the lease to end.
    /// - Throws: ``LockError/notHeld(fence:)`` if no live lease of `name` has
    ///   `fence` (released, expired, or never issued);
    ///   ``LockError/forbidden(detail:)`` without the `admin` grant; other
    ///   ``LockError`` cases if lockd could not be asked in time.
    public func forceRelease(_ name: String, fence: Int64) async throws {
        try LockName.validate(name)
        // A force-release whose answer was lost may have gone through, and so may
        // one answered 503 (lockd lost its store after sending it there): lockd's
        // "no such fence" to the next attempt is then our own doing.
        var mayHaveGoneThrough = false
        do {
            try await remote.retryingEnd(until: .now + remote.timeout, uncertain: { mayHaveGoneThrough = true }) { deadline in
                try await remote.forceRelease(name, fence: fence, until: deadline)
            }
        } catch LockError.notHeld where mayHaveGoneThrough {
            return
        }
    }
}
