import LockdTransport

/// What a cluster client does after one attempt of a command failed, as a
/// value: follow a redirection, try again after a pause, or give up.
///
/// The rule that matters: a command is sent again only when it cannot have
/// run — Redis refused it (`MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN`,
/// `LOADING`, `READONLY`, …) or the connection broke before it was written —
/// unless the caller said running it twice is harmless (`idempotent`). Every
/// attempt starts before the command's deadline.
struct ClusterRetryPolicy {
    /// What to do next.
    enum Decision: Equatable {
        /// Send the command to this node; with `asking`, after `ASKING` on the same connection.
        case redirect(RedisRedirect)
        /// Send it again to the slot's master after `delay`; `refresh` asks for a fresh slot map first.
        case retry(after: Duration, refresh: Bool)
        /// Give up with this error; `refresh` asks for a fresh slot map for later commands.
        case fail(RedisError, refresh: Bool)
    }

    /// Redirections followed per command before giving up (a slot map that
    /// keeps changing under a command means the cluster is being resharded hard).
    static let maximumRedirects = 5

    let deadline: UInt64
    let idempotent: Bool
    private(set) var redirects = 0
    private(set) var retries = 0

    /// - Parameters:
    ///   - deadline: `MonotonicClock` nanoseconds after which no attempt starts.
    ///   - idempotent: whether the command may run twice without harm.
    init(deadline: UInt64, idempotent: Bool) {
        self.deadline = deadline
        self.idempotent = idempotent
    }

    /// Decides after an attempt failed with `error`.
    /// - Parameters:
    ///   - node: the node the attempt went to (for redirections without a host).
    ///   - ownerChanged: whether the slot map now names another master for
    ///     the command's slot than the one that failed.
    mutating func decide(_ error: RedisError, from node: RedisEndpoint, now: UInt64, ownerChanged: Bool) -> Decision {
        if let redirect = RedisRedirect(error.message, from: node), error.kind == .refused {
            redirects += 1
            guard redirects <= Self.maximumRedirects else {
                return .fail(RedisError(.retryable, code: error.code, message: "the cluster redirected the command \(Self.maximumRedirects) times"), refresh: true)
            }
            return .redirect(redirect)
        }
        switch (error.kind, error.code) {
        case (.retryable, "TRYAGAIN"?), (.retryable, "LOADING"?), (.retryable, "BUSY"?):
            return pause(error, refresh: false, now: now)
        case (.retryable, "CLUSTERDOWN"?), (.retryable, "MASTERDOWN"?), (.retryable, "READONLY"?):
            // The slot's master is changing: the map may be stale.
            return pause(error, refresh: true, now: now)
        case (.retryable, nil):
            // The connection broke before the command was written.
            return pause(error, refresh: true, now: now)
        case (.unreachable, _):
            // Not connected, or the command was written and may have run:
            // fail fast, unless a failover already gave the slot a new master
            // and running the command twice is harmless.
            if idempotent, ownerChanged, now < deadline { return .retry(after: .zero, refresh: false) }
            return .fail(error, refresh: true)
        case (.timeout, _):
            return .fail(error, refresh: true)
        default:
            return .fail(error, refresh: false)
        }
    }

    /// Waits and tries again when the deadline allows: 5 ms, doubling, at most 100 ms.
    private mutating func pause(_ error: RedisError, refresh: Bool, now: UInt64) -> Decision {
        let delay = Duration.milliseconds(min(100, 5 << min(retries, 5)))
        retries += 1
        guard now &+ MonotonicClock.nanoseconds(delay) < deadline else { return .fail(error, refresh: refresh) }
        return .retry(after: delay, refresh: refresh)
    }
}
