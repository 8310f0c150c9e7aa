import Foundation

/// What lockd says about one lock: whether it is held, by whom, in which mode,
/// and how many wait for it.
///
/// ```swift
/// let status = try await locks.status("orders:4711")
/// if let holder = status.holders.first {
///     print("\(status.name) held by \(holder.owner ?? "?") until \(holder.expiresAt)")
/// }
/// print("\(status.holders.count) of \(status.limit) held, \(status.waiting) waiting")
/// ```
public struct LockStatus: Sendable, Hashable {
    /// The lock's name.
    public var name: String
    /// Whether some lease holds the lock now.
    public var isHeld: Bool
    /// The current holders; empty when the lock is free.
    public var holders: [LockHolder]
    /// The lock's limit: 1 for a lock or reader-writer lock, more for a semaphore.
    public var limit: Int
    /// How many acquires wait in the lock's queue.
    public var waiting: Int
    /// While a lease that expired keeps the lock (or one of a semaphore's
    /// slots) through its lock delay (`lockDelay:` on acquire): when the
    /// first such delay ends. `nil` when no delay is in force.
    public var delayedUntil: Date?
    /// How the holders hold the lock; `nil` when it is free.
    public var mode: LockMode? { holders.first?.mode }

    /// Creates a status; lockd's answers are turned into these for you.
    public init(name: String, isHeld: Bool, holders: [LockHolder], limit: Int = 1, waiting: Int = 0, delayedUntil: Date? = nil) {
        self.delayedUntil = delayedUntil
        self.name = name
        self.isHeld = isHeld
        self.holders = holders
        self.limit = limit
        self.waiting = waiting
    }
}

/// One holder of a lock as others see it: no token, only what identifies the lease.
///
/// ```swift
/// for holder in try await locks.status("orders").holders {
///     print(holder.owner ?? "-", holder.fence, holder.remaining)
/// }
/// ```
public struct LockHolder: Sendable, Hashable {
    /// The owner label the holder gave at acquire, if any.
    public var owner: String?
    /// The holder's fence.
    public var fence: Int64
    /// When the lease expires unless renewed (lockd's clock).
    public var expiresAt: Date
    /// How much of the lease was left when lockd answered.
    public var remaining: Duration
    /// ``LockMode/exclusive``, or ``LockMode/shared`` for a reader.
    public var mode: LockMode
    /// The id of the authenticated client that took the lease, when lockd
    /// runs with `--auth-file`.
    public var client: String?

    /// Creates a holder; lockd's answers are turned into these for you.
    public init(owner: String?, fence: Int64, expiresAt: Date, remaining: Duration, mode: LockMode = .exclusive,
                client: String? = nil) {
        self.client = client
        self.owner = owner
        self.fence = fence
        self.expiresAt = expiresAt
        self.remaining = remaining
        self.mode = mode
    }
}

extension LockStatus {
    init(_ wire: Components.Schemas.LockStatus) {
        self.init(name: wire.name, isHeld: wire.held, holders: wire.holders.map(LockHolder.init),
                  limit: wire.limit, waiting: wire.waiting, delayedUntil: wire.delayedUntil)
    }
}

extension LockHolder {
    init(_ wire: Components.Schemas.Holder) {
        self.init(
            owner: wire.owner,
            fence: wire.fence,
            expiresAt: wire.expiresAt,
            remaining: .milliseconds(wire.ttlMs),
            mode: LockMode(wire.mode),
            client: wire.client
        )
    }
}
