/// A validated acquire: what the client asked for, with defaults applied.
public struct AcquireRequest: Sendable {
    /// The lock.
    public var name: LockName
    /// The lease's time to live in milliseconds.
    public var ttlMs: Int64
    /// How long to wait for the lock; 0 tries once.
    public var waitMs: Int64
    /// A free label shown to inspectors.
    public var owner: String?
    /// A client-chosen token, making the acquire retry-safe.
    public var token: LeaseToken?
    /// Exclusive, or shared (a reader of a reader-writer lock; limit 1 only).
    public var mode: LockMode
    /// How many exclusive leases the name admits at once: 1 for a lock,
    /// 2–1000 for a semaphore. Must match the name's limit while it is in use.
    /// (After `mode`, unlike the initializer's parameters: see ``init(name:ttlMs:waitMs:owner:token:limit:mode:client:durability:lockDelayMs:)``.)
    public var limit: Int
    /// The authenticated client asking (with auth on), shown on its holder.
    public var client: String?
    /// When the grant is answered; nil: the engine's default
    /// (``LockEngineConfiguration/defaultDurability``).
    public var durability: Durability?
    /// If the lease expires instead of being released, the name stays
    /// unavailable this many milliseconds longer (0–60 000; its slot, on a
    /// semaphore or among readers), so that a paused holder's writes in
    /// flight drain before the next holder starts.
    public var lockDelayMs: Int64
}

extension AcquireRequest {
    /// Creates a request; ``LockEngine/acquire(_:)`` checks the ranges.
    ///
    /// It hands everything to the synthesized memberwise initializer (whose
    /// parameters, in declaration order, put `mode` before `limit`, so the
    /// two differ): one that assigned `self.name = name` and so on built
    /// the request in one place, then copied it to the caller and destroyed
    /// the first (~0.3 k instructions an acquire; a struct this large, of
    /// more than four words, is returned through memory).
    public init(name: LockName, ttlMs: Int64, waitMs: Int64 = 0, owner: String? = nil, token: LeaseToken? = nil,
                limit: Int = 1, mode: LockMode = .exclusive, client: String? = nil, durability: Durability? = nil,
                lockDelayMs: Int64 = 0) {
        self.init(name: name, ttlMs: ttlMs, waitMs: waitMs, owner: owner, token: token, mode: mode, limit: limit, client: client,
                  durability: durability, lockDelayMs: lockDelayMs)
    }
}

/// A granted acquire.
public struct AcquireGrant: Sendable, Equatable {
    /// The lease.
    public var lease: Lease
    /// True when the client's token already held the lock (HTTP 200, not 201).
    public var isRetry: Bool
    /// True when lockd made the lease's token (the client sent none): until
    /// this answer reaches the client, no one else knows it.
    public var lockdMadeToken = false
    /// The instant (``MonotonicClock``, nanoseconds) by which the grant must
    /// reach the client (``LockEngine/deliverBy(askedAt:ttlMs:)``): after it
    /// too little of its TTL is left, and an answer not yet written by then
    /// gives it back instead.
    public var deliverBy: UInt64
}
