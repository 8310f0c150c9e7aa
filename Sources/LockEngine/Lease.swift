/// A holder's right to a lock until ``expiresAtMs``.
///
/// Times come from the store's clock (Redis `TIME`), never lockd's.
public struct Lease: Sendable, Equatable {
    /// The lock this lease holds.
    public var name: LockName
    /// The secret that renews and releases the lease.
    public var token: LeaseToken
    /// Strictly greater than every fence issued before for ``name``.
    public var fence: Int64
    /// The lease's time to live, in milliseconds.
    public var ttlMs: Int64
    /// When the lease expires, in milliseconds since the Unix epoch.
    public var expiresAtMs: Int64
    /// The free label the holder gave, if any.
    public var owner: String?
    /// The name's limit: 1 for a lock, more for a semaphore. (Before
    /// `mode`, unlike the initializer's parameters: see ``init(name:token:fence:ttlMs:expiresAtMs:owner:mode:limit:)``.)
    public var limit: Int
    /// How the lease holds its name.
    public var mode: LockMode
}

extension Lease {
    /// Creates a lease value. It hands everything to the synthesized
    /// memberwise initializer (whose parameters, in declaration order, put
    /// `limit` before `mode`, so the two differ): one that assigned
    /// `self.name = name` and so on built the lease in one place, then
    /// copied it to the caller and destroyed the first (a lease is more
    /// than four words, returned through memory; one is made every grant).
    public init(name: LockName, token: LeaseToken, fence: Int64, ttlMs: Int64, expiresAtMs: Int64, owner: String?,
                mode: LockMode = .exclusive, limit: Int = 1) {
        self.init(name: name, token: token, fence: fence, ttlMs: ttlMs, expiresAtMs: expiresAtMs, owner: owner, limit: limit, mode: mode)
    }
}

/// What inspectors see of a lease: no token.
public struct Holder: Sendable, Equatable {
    /// The holder's free label, if any.
    public var owner: String?
    /// The authenticated client that took the lease (auth on), else nil.
    /// (Second, unlike the initializer's parameters: see ``init(owner:fence:expiresAtMs:remainingMs:mode:client:)``.)
    public var client: String?
    /// The lease's fence.
    public var fence: Int64
    /// When the lease expires, in milliseconds since the Unix epoch.
    public var expiresAtMs: Int64
    /// Milliseconds the lease has left.
    public var remainingMs: Int64
    /// How the lease holds its name.
    public var mode: LockMode
}

extension Holder {
    /// Creates a holder value. It hands everything to the synthesized
    /// memberwise initializer (whose parameters, in declaration order, put
    /// `client` second, so the two differ): one that assigned `self.owner =
    /// owner` and so on built the holder in one place, then copied it to
    /// the caller and destroyed the first (see ``Lease``'s).
    public init(owner: String?, fence: Int64, expiresAtMs: Int64, remainingMs: Int64, mode: LockMode = .exclusive,
                client: String? = nil) {
        self.init(owner: owner, client: client, fence: fence, expiresAtMs: expiresAtMs, remainingMs: remainingMs, mode: mode)
    }
}

/// A lock's state as inspectors see it.
public struct LockStatus: Sendable, Equatable {
    /// The lock.
    public var name: LockName
    /// Current holders; empty when the lock is free.
    public var holders: [Holder]
    /// The name's limit: 1 for a lock or reader-writer lock, more for a semaphore.
    public var limit: Int
    /// How many acquires wait in the name's queue.
    public var waiting: Int
    /// While a lease that expired keeps the name (or one of its slots)
    /// through its lock delay: when the first such delay ends, in
    /// milliseconds since the Unix epoch. Nil when no delay is in force.
    public var delayedUntilMs: Int64?
    /// Whether anyone holds the lock.
    public var isHeld: Bool { !holders.isEmpty }
    /// The holders' mode; nil when the lock is free.
    public var mode: LockMode? { holders.first?.mode }

    /// Creates a status value.
    public init(name: LockName, holders: [Holder], limit: Int = 1, waiting: Int = 0, delayedUntilMs: Int64? = nil) {
        self.delayedUntilMs = delayedUntilMs
        self.name = name
        self.holders = holders
        self.limit = limit
        self.waiting = waiting
    }
}

/// One page of held locks.
public struct LockPage: Sendable, Equatable {
    /// Held locks in this page.
    public var locks: [LockStatus]
    /// Pass to the next call to continue; nil on the last page.
    public var nextCursor: String?

    /// Creates a page.
    public init(locks: [LockStatus], nextCursor: String?) {
        self.locks = locks
        self.nextCursor = nextCursor
    }
}
