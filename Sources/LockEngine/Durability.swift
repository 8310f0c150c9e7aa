/// When a grant (or a renewal) is answered: once the Redis primary has it
/// (`primary`), or only once at least one replica has it too (`replicated`,
/// Redis `WAIT`), which narrows the window in which a failover loses it.
/// Fences stay the guarantee either way.
public enum Durability: String, Sendable, CaseIterable {
    /// Answered once the primary has it.
    case primary
    /// Answered once a replica acknowledged it; otherwise undone and
    /// answered ``LockError/unavailable(_:)``.
    case replicated
}
