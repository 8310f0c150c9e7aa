import Foundation

/// What lockd says about one lock: whether it is held, and by whom.
///
/// ```swift
/// let status = try await locks.status("orders:4711")
/// if let holder = status.holders.first {
///     print("\(status.name) held by \(holder.owner ?? "?") until \(holder.expiresAt)")
/// }
/// ```
public struct LockStatus: Sendable, Hashable {
    /// The lock's name.
    public var name: String
    /// Whether some lease holds the lock now.
    public var isHeld: Bool
    /// The current holders; empty when the lock is free.
    public var holders: [LockHolder]

    /// Creates a status; lockd's answers are turned into these for you.
    public init(name: String, isHeld: Bool, holders: [LockHolder]) {
        self.name = name
        self.isHeld = isHeld
        self.holders = holders
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

    /// Creates a holder; lockd's answers are turned into these for you.
    public init(owner: String?, fence: Int64, expiresAt: Date, remaining: Duration) {
        self.owner = owner
        self.fence = fence
        self.expiresAt = expiresAt
        self.remaining = remaining
    }
}

extension LockStatus {
    init(_ wire: Components.Schemas.LockStatus) {
        self.init(name: wire.name, isHeld: wire.held, holders: wire.holders.map(LockHolder.init))
    }
}

extension LockHolder {
    init(_ wire: Components.Schemas.Holder) {
        self.init(
            owner: wire.owner,
            fence: wire.fence,
            expiresAt: wire.expiresAt,
            remaining: .milliseconds(wire.ttlMs)
        )
    }
}
