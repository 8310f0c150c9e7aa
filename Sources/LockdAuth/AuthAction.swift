/// What a grant lets a client do on the names it covers. The three do not
/// imply one another: a client that locks and inspects needs `lock` and `read`.
public enum AuthAction: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Acquire, renew and release leases.
    case lock
    /// Inspect a lock, list locks, see holders and events.
    case read
    /// End another holder's lease (force-release by fence).
    case admin

    public var description: String { rawValue }
}
