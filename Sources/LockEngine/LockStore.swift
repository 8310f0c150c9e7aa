/// Identifies one waiting acquire in a lock's queue.
public struct WaiterID: Hashable, Sendable, CustomStringConvertible {
    /// The id's text (random, 16 hex digits).
    public let value: String

    /// Wraps an id received from the store.
    public init(_ value: String) { self.value = value }

    /// A fresh random id.
    public static func random() -> WaiterID {
        var generator = SystemRandomNumberGenerator()
        let number: UInt64 = generator.next()
        let hex = String(number, radix: 16)
        return WaiterID(String(repeating: "0", count: 16 - hex.count) + hex)
    }

    public var description: String { value }
}

/// One attempt to take a lock, as the engine hands it to a store.
public struct AcquireAttempt: Sendable {
    /// The lock.
    public var name: LockName
    /// The token the new lease gets, or the one a retry presents.
    public var token: LeaseToken
    /// The lease's time to live in milliseconds.
    public var ttlMs: Int64
    /// The holder's label.
    public var owner: String?
    /// Set for a waiting acquire: the attempt joins (or keeps its place in)
    /// the lock's first-come-first-served queue and is granted only at its head.
    public var waiter: WaiterID?

    /// Creates an attempt.
    public init(name: LockName, token: LeaseToken, ttlMs: Int64, owner: String?, waiter: WaiterID?) {
        self.name = name
        self.token = token
        self.ttlMs = ttlMs
        self.owner = owner
        self.waiter = waiter
    }
}

/// What a store answered to an ``AcquireAttempt``.
public enum AcquireResult: Sendable, Equatable {
    /// The lease is granted; `isRetry` when the token already held the lock
    /// and only its TTL was reset.
    case granted(Lease, isRetry: Bool)
    /// Not granted. `holders` hold it now (empty when the lock is free but
    /// earlier waiters come first); `retryAfterMs` is the time until the
    /// current lease expires; `isHeadOfQueue` tells a waiter that it is next,
    /// so it should try again itself when the lease expires.
    case held(holders: [Holder], retryAfterMs: Int64, isHeadOfQueue: Bool)
}

/// A message that the waiter `waiter` on `name` should try again now: the
/// lock was released, or the waiter moved to the head of the queue.
public struct Wakeup: Sendable, Hashable {
    /// The lock.
    public var name: LockName
    /// The waiter to wake.
    public var waiter: WaiterID

    /// Creates a wake-up.
    public init(name: LockName, waiter: WaiterID) {
        self.name = name
        self.waiter = waiter
    }
}

/// Where leases live. Every method is atomic with respect to the others for
/// one name, and expiry is decided by the store's clock.
///
/// Two implementations: ``RedisLockStore`` (the product: shared by every
/// lockd instance) and ``InMemoryLockStore`` (one process, for development
/// and tests). Both pass the same semantics tests.
public protocol LockStore: Sendable {
    /// Grants a lease when the lock is free (and, for a waiter, it is at the
    /// head of the queue), or renews it when `attempt.token` already holds it.
    /// A waiter that is not granted is queued; its place is kept until
    /// ``removeWaiter(_:from:)`` or until its instance stops heart-beating.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult

    /// Extends the lease `token` holds to `ttlMs` (or its current TTL when
    /// nil); nil when the token does not hold the lock.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func renew(_ name: LockName, token: LeaseToken, ttlMs: Int64?) async throws(LockError) -> Lease?

    /// Ends the lease `token` holds and wakes the next waiter; false when the
    /// token does not hold the lock.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func release(_ name: LockName, token: LeaseToken) async throws(LockError) -> Bool

    /// The lock's current holders.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func status(of name: LockName) async throws(LockError) -> LockStatus

    /// Held locks whose names start with `prefix`, at most `limit`, after `cursor`.
    /// - Throws: ``LockError/invalidRequest(_:)`` for a cursor it did not
    ///   make, ``LockError/unavailable(_:)`` when the store cannot serve.
    func list(prefix: String, limit: Int, cursor: String?) async throws(LockError) -> LockPage

    /// Takes `waiter` out of `name`'s queue, waking the next waiter if it was
    /// at the head.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func removeWaiter(_ waiter: WaiterID, from name: LockName) async throws(LockError)

    /// Tells the store that these waiters are still alive. A store shared by
    /// several processes forgets waiters whose process stops calling this,
    /// and wakes the head of any queue whose lock is free.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func heartbeat(_ waiters: [LockName: [WaiterID]]) async throws(LockError)

    /// Delivers wake-ups for waiters to `handler` until the calling task is
    /// cancelled.
    func deliverWakeups(to handler: @escaping @Sendable (Wakeup) -> Void) async

    /// Throws unless the store can serve requests now.
    /// - Throws: ``LockError/unavailable(_:)``.
    func checkReady() async throws(LockError)

    /// Releases the store's connections.
    func close() async
}
