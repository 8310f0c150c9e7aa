import struct Foundation.Date

/// A lease's lifecycle as a value: held → lost, or held → releasing → released
/// (or lost, if lockd says the token no longer held the lock). The methods say
/// what changed; ``Lease`` does the I/O and wakes the waiters they return
/// outside its lock.
///
/// Loss is judged by the client's own monotonic clock, conservatively: a lease
/// is due at the instant its last acquire or renew was *sent* plus its TTL, which
/// is never later than lockd's own expiry. Once lost, a lease stays lost; a
/// released lease is never reported lost.
struct LeaseState: Sendable {
    /// Where the lease is in its life.
    enum Phase: Sendable, Equatable {
        /// Ours until ``LeaseState/deadline`` unless renewed.
        case held
        /// A release has begun: renewals have stopped, and what they report no longer counts.
        case releasing
        /// Given back (or, after a release that could not get through, run out).
        case released
        /// Ended before it was given back.
        case lost
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
    /// Whether an attempt to release may have reached lockd unanswered (a
    /// transport failure, a 503): lockd's "no such lease" is then our own doing.
    private(set) var releaseMayHaveGoneThrough = false
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

    // MARK: - Transitions

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

    /// lockd said the token no longer holds the lock (to a renewal), or the
    /// deadline passed. Ignored once a release has begun: a renewal that crossed
    /// the release on the wire is told "lost" about a lease we gave back.
    mutating func lost() -> Wakeups {
        guard phase == .held else { return [] }
        phase = .lost
        return changed()
    }

    /// A release begins (or begins again after one that failed).
    /// - Returns: The phase before: only `.held` and `.releasing` go on to ask lockd.
    mutating func beginRelease() -> (Wakeups, Phase) {
        let before = phase
        guard before == .held else { return ([], before) }
        phase = .releasing
        return (changed(), before)
    }

    /// lockd accepted the release, or the lease ran out while it could not be asked.
    mutating func released() -> Wakeups {
        guard phase == .held || phase == .releasing else { return [] }
        phase = .released
        return changed()
    }

    /// lockd answered the release that the token held nothing: the lease had
    /// ended before it was given back — unless an earlier attempt may have
    /// given it back (then it is released).
    mutating func releaseRefused() -> Wakeups {
        if releaseMayHaveGoneThrough { return released() }
        guard phase == .releasing else { return [] }
        phase = .lost
        return changed()
    }

    /// A release attempt failed in a way that may have let it through.
    mutating func releaseUncertain() {
        releaseMayHaveGoneThrough = true
    }

    /// Ends the lease if its deadline has passed at `now`: lost if held, released
    /// if a release was under way (its owner had given it up).
    mutating func expire(ifDueAt now: ContinuousClock.Instant) -> Wakeups {
        guard now >= deadline else { return [] }
        switch phase {
        case .held: return lost()
        case .releasing: return released()
        case .released, .lost: return []
        }
    }

    // MARK: - Renewal schedule

    /// When the background renewal should next ask lockd.
    ///
    /// At a third of the TTL after the last renewal was sent; after a failed
    /// attempt, after `backoff` — but soon enough to try a few more times before
    /// the deadline, for a lease is worth more than lockd's `Retry-After`.
    func nextRenewal(now: ContinuousClock.Instant, backoff: Duration?) -> ContinuousClock.Instant {
        guard let backoff else { return min(renewedAt + ttl / 3, deadline) }
        let remaining = deadline - now
        return min(now + min(backoff, max(.milliseconds(20), remaining / 4)), deadline)
    }

    // MARK: - Waiters

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
