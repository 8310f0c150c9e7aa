/// Every way a lock operation can fail, for the API layer to map to HTTP.
public enum LockError: Error, Sendable, Equatable {
    /// The request is malformed or out of range; the text says what to fix.
    case invalidRequest(String)
    /// Someone else holds the lock (after waiting, if asked to wait).
    case lockHeld(holders: [Holder], retryAfterMs: Int64)
    /// The name is in use with another limit (a semaphore's size is set by
    /// the first acquire on a free name); `limit` is the current one.
    case limitMismatch(limit: Int)
    /// The token does not hold the lock (never did, released, or expired).
    case leaseLost
    /// No live lease of the name has this fence (released, expired, or
    /// never issued).
    case notHeld(fence: Int64)
    /// The store cannot serve now (unreachable, loading, out of memory,
    /// stalled) or lockd is shutting down; the text names no internals.
    case unavailable(String)
    /// The caller went away (its task was cancelled) before the outcome.
    case cancelled
}
