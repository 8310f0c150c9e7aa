/// How a lease holds its lock: alone, or beside other readers.
///
/// ```swift
/// let lease = try await locks.acquire("catalog", mode: .shared)   // a reader lease
/// ```
///
/// lockd answers `shared` with ``LockError/invalidRequest(detail:)`` until it
/// serves reader-writer locks.
public enum LockMode: String, Sendable, Hashable, CaseIterable {
    /// The only holder (or, with a `limit` above 1, one of that many): a writer.
    case exclusive
    /// One of any number of readers, while no exclusive lease holds the lock.
    case shared
}
