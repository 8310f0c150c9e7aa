/// How a lease holds its name: alone, or beside other shared leases (the
/// reader side of a reader-writer lock).
public enum LockMode: String, Sendable, CaseIterable {
    /// The only lease on the name — or, on a semaphore, one of its `limit`.
    case exclusive
    /// One of any number of shared leases; excludes exclusive ones.
    case shared
}
