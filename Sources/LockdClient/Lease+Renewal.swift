import LockdTransport

extension Lease {
    /// Starts renewing the lease in the background until it is released or lost,
    /// or nothing refers to it any more.
    ///
    /// With ``SocketTransport``, a timer on its loop waits for the first renewal
    /// (most leases are released long before it: a timer costs far less than a
    /// task started and cancelled per lease); the renewal task starts when it fires.
    func startRenewing() {
        guard let loop = remote.executor else { return startRenewalTask(on: nil) }
        let first = state.withLock { $0.nextRenewal(now: .now, backoff: nil) }
        let arm: @Sendable () -> Void = { [weak self] in
            guard let self else { return }
            renewal.withLock { renewal in
                guard case .starting = renewal else { return }  // released meanwhile
                renewal = .timer(loop.scheduleTimer(after: first - .now) { [weak self] in self?.firstRenewalDue(on: loop) })
            }
        }
        if loop.inEventLoop { arm() } else { loop.execute(arm) }
    }

    /// The first renewal's timer fired (on `loop`): from here the renewal task goes on.
    private func firstRenewalDue(on loop: EventLoop) {
        let due = renewal.withLock { renewal in
            guard case .timer = renewal else { return false }
            renewal = .starting
            return true
        }
        if due { startRenewalTask(on: loop) }
    }

    /// Stops the background renewal: cancels its timer or its task.
    func stopRenewing() {
        switch renewal.withLock({ $0.stop() }) {
        case .timer(let id)?:
            guard let loop = remote.executor else { return }
            if loop.inEventLoop { loop.cancelTimer(id) } else { loop.execute { loop.cancelTimer(id) } }
        case .task(let task)?: task.cancel()
        case .starting?, .stopped?, nil: break
        }
    }

    /// Renews until the lease is released or lost, or nothing refers to it any more.
    ///
    /// The one unstructured task of the SDK, because a lease outlives the call
    /// that acquired it (DistributedLock's handles and etcd's sessions keep their
    /// leases alive the same way). It is owned: ``release()`` and `deinit` cancel
    /// it, and it holds the lease only weakly while it sleeps, so that a dropped
    /// lease stops being renewed and ends at its TTL instead of holding the lock
    /// for ever.
    private func startRenewalTask(on loop: EventLoop?) {
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
        let started = renewal.withLock { renewal in
            guard case .starting = renewal else { return false }
            renewal = .task(task)
            return true
        }
        if !started { task.cancel() }  // released meanwhile
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

/// Where a lease's background renewal is: what ``Lease/stopRenewing()`` has to stop.
enum LeaseRenewal: Sendable {
    /// Being set up (or a fired timer handing over to the task).
    case starting
    /// Waiting on the loop's timer for the first renewal.
    case timer(TimerID)
    /// The renewal task runs.
    case task(Task<Void, Never>)
    /// Stopped (released or dropped), or never started (`autoRenew: false`).
    case stopped

    /// Becomes ``stopped``; returns what was there, to stop it outside the lock.
    mutating func stop() -> LeaseRenewal? {
        defer { self = .stopped }
        return self
    }
}
