/// How a lease holds its lock: alone, or beside other readers.
///
/// ```swift
/// let lease = try await locks.acquire("catalog", mode: .shared)   // a reader lease
/// ```
///
/// Readers share the lock with each other and exclude writers; a writer has it
/// alone. Readers and writers queue in one first-come, first-served line, so a
/// waiting writer is not starved by readers that keep arriving. A reader takes
/// `limit` 1 (the default): a semaphore has exclusive slots only.
public enum LockMode: String, Sendable, Hashable, CaseIterable {
    /// The only holder (or, with a `limit` above 1, one of that many): a writer.
    case exclusive
    /// One of any number of readers, while no exclusive lease holds the lock.
    case shared
}

extension LockMode {
    init(_ wire: Components.Schemas.LockMode) {
        switch wire {
        case .exclusive: self = .exclusive
        case .shared: self = .shared
        }
    }
}
