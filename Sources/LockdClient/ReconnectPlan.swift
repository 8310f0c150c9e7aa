/// When ``LockEvents`` reopens its stream and what it asks for: the id of
/// the last event read (sent as `Last-Event-ID`), and a delay from
/// ``Backoff`` that is never shorter than lockd's SSE `retry:` or
/// `Retry-After`. A stream that stayed open a while starts the backoff over;
/// one that ends at once (a lockd refusing to keep it) backs off further.
struct ReconnectPlan: Sendable {
    /// Whether a stream has been opened yet (the first open is bounded by
    /// the client's timeout; reopening is not).
    private(set) var hasOpened = false
    /// The SSE `id:` of the last event read, if any.
    private(set) var lastEventID: String?
    /// The reconnection time lockd asked for (`retry:`), if it did.
    private(set) var serverRetry: Duration?
    private var backoff = Backoff()
    private var openedAt: ContinuousClock.Instant?

    /// A stream opened at `now`.
    mutating func opened(at now: ContinuousClock.Instant = .now) {
        hasOpened = true
        openedAt = now
    }

    /// An event arrived with these SSE fields.
    mutating func saw(id: String?, retry: Int64?) {
        // As in the SSE spec: an empty id clears the last one.
        if let id { lastEventID = id.isEmpty ? nil : id }
        if let retry, retry >= 0 { serverRetry = .milliseconds(retry) }
    }

    /// The stream ended at `now`; one open at least ``Backoff/ceiling`` resets the backoff.
    mutating func streamEnded(at now: ContinuousClock.Instant = .now) {
        if let openedAt, now - openedAt >= Backoff.ceiling { backoff.reset() }
        openedAt = nil
    }

    /// How long to wait before the next attempt to reopen.
    /// - Parameter retryAfter: lockd's `Retry-After` on the last attempt, if any.
    mutating func delay(retryAfter: Duration?) -> Duration {
        backoff.next(retryAfter: max(retryAfter ?? .zero, serverRetry ?? .zero))
    }
}
