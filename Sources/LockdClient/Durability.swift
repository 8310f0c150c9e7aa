/// When lockd answers a grant or a renewal: once the Redis primary has it,
/// or only once a Redis replica acknowledged it too.
///
/// ```swift
/// let lease = try await locks.acquire("payments:settle", durability: .replicated)
/// ```
///
/// `replicated` narrows the window in which a Redis failover loses a lease;
/// when no replica acknowledges in time lockd undoes the grant and answers
/// 503, which the client retries like any 503. Fences stay the guarantee.
/// `nil` (the default everywhere) is the server's `--durability`.
public enum Durability: String, Sendable, Hashable, CaseIterable {
    /// Answered once the Redis primary has it.
    case primary
    /// Answered once a Redis replica acknowledged it too.
    case replicated

    var wire: Components.Schemas.Durability {
        switch self {
        case .primary: .primary
        case .replicated: .replicated
        }
    }
}
