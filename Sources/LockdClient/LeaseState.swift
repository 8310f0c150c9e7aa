import struct Foundation.Date

/// A lease's lifecycle as a value: held → lost, or held → released. The
/// methods say what changed; ``Lease`` does the I/O and wakes the waiters they
/// return outside its lock.
///
/// Loss is judged by the client's own monotonic clock, conservatively: a lease
/// is due at the instant its last acquire or renew was *sent* plus its TTL, which
/// is never later than lockd's own expiry. Once lost, a lease stays lost.
struct LeaseState: Sendable {
    /// Where the lease is in its life.
    enum Phase: Sendable, Equatable {
        case held
        case lost
        case released
    }

    private(set) var phase: Phase = .held
    /// The last renewal's `expires_at`, as lockd reported it.
    private(set) var expiresAt: Date
    /// The lease's current TTL.
    private(set) var ttl: Duration
    /// When the lease is lost unless renewed first (client clock).
    private(set) var deadline: ContinuousClock.Instant
    /// When the last successful acquire or renew was sent.
    private(set) var renewedAt: ContinuousClock.Instant
    /// Bumped on every change, so a waiter can tell whether it missed one.
    private(set) var version: UInt64 = 0
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiterID: UInt64 = 0

    init(expiresAt: Date, ttl: Duration, sentAt: ContinuousClock.Instant) {
        self.expiresAt = expiresAt
        self.ttl = ttl
        self.renewedAt = sentAt
        self.deadline = sentAt + ttl
    }

    /// Continuations to resume once the caller has left the lock.
    typealias Wakeups = [CheckedContinuation<Void, Never>]

    /// lockd accepted a renewal sent at `sentAt`. Ignored unless still held:
    /// a lease that was reported lost is never reported alive again.
    mutating func renewed(expiresAt: Date, ttl: Duration, sentAt: ContinuousClock.Instant) -> Wakeups {
        guard phase == .held else { return [] }
        self.expiresAt = expiresAt
        self.ttl = ttl
        renewedAt = sentAt
        deadline = sentAt + ttl
        return changed()
    }

    /// lockd said the token no longer holds the lock, or a renewal missed the deadline.
    mutating func lost() -> Wakeups {
        guard phase == .held else { return [] }
        phase = .lost
        return changed()
    }

    /// lockd accepted the release.
    mutating func released() -> Wakeups {
        guard phase == .held else { return [] }
        phase = .released
        return changed()
    }

    /// Marks the lease lost if its deadline has passed at `now`.
    mutating func expire(ifDueAt now: ContinuousClock.Instant) -> Wakeups {
        guard phase == .held, now >= deadline else { return [] }
        return lost()
    }

    /// Registers a waiter for the next change after `seenVersion`; returns `false`
    /// (and registers nothing) if that change already happened.
    mutating func wait(after seenVersion: UInt64, id: UInt64, _ continuation: CheckedContinuation<Void, Never>) -> Bool {
        guard version == seenVersion else { return false }
        waiters[id] = continuation
        return true
    }

    /// Removes a waiter whose task was cancelled; returns it to resume.
    mutating func cancelWait(id: UInt64) -> CheckedContinuation<Void, Never>? {
        waiters.removeValue(forKey: id)
    }

    /// A fresh id for ``wait(after:id:_:)``.
    mutating func makeWaiterID() -> UInt64 {
        nextWaiterID += 1
        return nextWaiterID
    }

    private mutating func changed() -> Wakeups {
        version += 1
        defer { waiters.removeAll() }
        return Array(waiters.values)
    }
}
