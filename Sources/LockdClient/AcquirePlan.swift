/// One acquire call's plan as a value: how long each request asks lockd to wait,
/// and what to do after each answer that is not a grant. ``LockClient`` does the
/// I/O; this decides, and is tested without a server.
///
/// - A wait longer than lockd's `--max-wait-ms` is served by asking again with
///   the same token until the wait runs out (`nil`: until the task is cancelled).
/// - 503 and transport failures are retried with ``Backoff`` (honouring
///   `Retry-After`) for the whole wait, and at least for the client's `timeout`,
///   so that a try (`wait: .zero`) rides out a restart of lockd too. Retrying is
///   safe: every request carries the same client-made token, and lockd answers a
///   token that already holds the lock with that lease.
struct AcquirePlan: Sendable {
    /// When the caller stops waiting for the lock; `nil`: never.
    let waitDeadline: ContinuousClock.Instant?
    /// When failures stop being retried; `nil`: never.
    let retryDeadline: ContinuousClock.Instant?
    private var backoff = Backoff()

    /// A plan for a call that starts at `start`.
    /// - Parameters:
    ///   - wait: How long the caller waits for the lock; `nil` until cancelled.
    ///   - timeout: The client's timeout: failures are retried at least this long.
    init(start: ContinuousClock.Instant, wait: Duration?, timeout: Duration) {
        waitDeadline = wait.map { start + $0 }
        retryDeadline = wait.map { start + max($0, timeout) }
    }

    /// How long the request sent at `now` asks lockd to wait: what is left of the
    /// wait, at most `limit` (lockd's `--max-wait-ms`, as far as the client knows).
    func waitToAsk(now: ContinuousClock.Instant, limit: Duration) -> Duration {
        guard let waitDeadline else { return limit }
        return max(.zero, min(waitDeadline - now, limit))
    }

    /// What follows an answer that was not a grant.
    enum Next: Equatable, Sendable {
        /// Ask again after this delay.
        case retry(after: Duration)
        /// Give up, throwing the error.
        case fail
    }

    /// What to do after `error`, answered at `now` to a request sent at `sentAt`
    /// that asked lockd to wait `asked`.
    mutating func next(after error: LockError, now: ContinuousClock.Instant, sentAt: ContinuousClock.Instant, asked: Duration) -> Next {
        switch error {
        case .held:
            let remaining = waitDeadline.map { $0 - now }
            if let remaining, remaining < .milliseconds(1) { return .fail }
            // lockd waits as long as it is asked; should it answer much sooner,
            // asking again at once would spin.
            guard now - sentAt < asked / 2 else {
                backoff.reset()
                return .retry(after: .zero)
            }
            let delay = backoff.next(retryAfter: nil)
            return .retry(after: remaining.map { min(delay, $0) } ?? delay)
        case _ where error.isRetryable:
            let delay = backoff.next(retryAfter: error.retryAfter)
            guard let retryDeadline else { return .retry(after: delay) }
            guard now < retryDeadline else { return .fail }
            return .retry(after: min(delay, retryDeadline - now))
        default:
            return .fail
        }
    }
}
