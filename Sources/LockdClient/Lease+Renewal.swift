extension Lease {
    /// Starts renewing the lease in the background until it is released or lost,
    /// or nothing refers to it any more.
    ///
    /// The one unstructured task of the SDK, because a lease outlives the call
    /// that acquired it (DistributedLock's handles and etcd's sessions keep their
    /// leases alive the same way). It is owned: ``release()`` and `deinit` cancel
    /// it, and it holds the lease only weakly while it sleeps, so that a dropped
    /// lease stops being renewed and ends at its TTL instead of holding the lock
    /// for ever.
    func startRenewing() {
        let loop = remote.executor
        let task = Task(executorPreference: loop) { [weak self] in
            var backoff = Backoff()
            var failure: LockError?
            while let next = self?.nextRenewal(after: failure, backoff: &backoff) {
                do {
                    if let loop {
                        try await sleep(until: next, on: loop)
                    } else {
                        try await Task.sleep(until: next, clock: .continuous)
                    }
                } catch {
                    return  // released or dropped
                }
                guard let lease = self else { return }
                failure = await lease.renewInBackground()
                if case .leaseLost? = failure { return }
            }
        }
        renewal.withLock { $0 = task }
    }

    /// When to renew next, or `nil` once the lease is no longer held.
    /// - Parameter failure: What the last attempt failed with; `nil` after a success.
    private func nextRenewal(after failure: LockError?, backoff: inout Backoff) -> ContinuousClock.Instant? {
        guard phase == .held else { return nil }
        if failure == nil { backoff.reset() }
        let delay = failure.map { backoff.next(retryAfter: $0.retryAfter) }
        return state.withLock { $0.nextRenewal(now: .now, backoff: delay) }
    }

    /// One background renewal, bounded by the deadline: a renewal that has not
    /// come back by then cannot keep the lease, which is then lost.
    /// - Returns: The failure, or `nil` after a success (or when cancelled).
    private func renewInBackground() async -> LockError? {
        guard phase == .held else { return nil }
        do {
            try await renewOnce(ttl: nil, until: state.withLock { $0.deadline })
            return nil
        } catch let error as LockError {
            return error
        } catch {
            return nil  // cancelled: the loop ends at its next sleep
        }
    }
}
