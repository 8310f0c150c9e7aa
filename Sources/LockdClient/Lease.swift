import Foundation
import Synchronization

/// The right to a lock until ``expiresAt``: what ``LockClient/tryAcquire(_:ttl:wait:autoRenew:limit:mode:durability:lockDelay:)``,
/// ``LockClient/acquire(_:ttl:wait:autoRenew:limit:mode:durability:lockDelay:)`` and
/// ``LockClient/withLock(_:ttl:wait:limit:mode:durability:lockDelay:isolation:_:)`` hand out.
///
/// Send ``fence`` along with every write to the protected resource, so that it can
/// refuse a holder whose lease has since ended. A lease renews itself in the
/// background at about a third of its TTL until you ``release()`` it, it is lost,
/// or nothing refers to it any more (then it ends at its TTL); acquire with
/// `autoRenew: false` to renew it yourself with ``renew(ttl:durability:)``. Watch ``isLost``
/// or ``waitUntilLost()`` to learn that it ended early.
///
/// ```swift
/// let lease = try await locks.acquire("orders", ttl: .seconds(30))
/// do {
///     try await orders.write(batch, fence: lease.fence)
/// } catch {
///     try await lease.release()   // give it back on the error path too
///     throw error
/// }
/// try await lease.release()
/// ```
///
/// (``LockClient/withLock(_:ttl:wait:limit:mode:durability:lockDelay:isolation:_:)`` does all of that for you.)
///
/// A lease is lost when lockd says its token no longer holds the lock, or when
/// its TTL runs out on the client's clock (counted from when the last acquire or
/// renew was sent, so never later than lockd's own expiry) without a renewal.
/// Once lost, it stays lost. A lease that was released is never reported lost.
public final class Lease: Sendable {
    /// The lock's name.
    public let name: String
    /// This lease's fence: greater than every fence issued for ``name`` before it.
    public let fence: Int64
    /// The lease's secret, needed to renew or release it. Keep it out of logs and URLs.
    public let token: String
    /// The owner label given at acquire, if any.
    public let owner: String?
    /// ``LockMode/exclusive``, or ``LockMode/shared`` for a reader lease.
    public let mode: LockMode
    /// The lock's limit: 1 for a lock or reader-writer lock, more for a
    /// semaphore this lease holds one slot of.
    public let limit: Int

    let remote: RemoteLocks
    /// What the acquire asked for, asked again by every renewal (nil: the server's default).
    let durability: Components.Schemas.Durability?
    let state: Mutex<LeaseState>
    /// The background renewal, if the lease renews itself; stopped when the
    /// lease is released or dropped.
    let renewal: Mutex<LeaseRenewal>
    /// The task running `withLock`'s body, cancelled when the lease is lost.
    let bodyTask = Mutex<BodyTask?>(nil)

    init(
        _ wire: Components.Schemas.Lease,
        sentAt: ContinuousClock.Instant,
        remote: RemoteLocks,
        durability: Components.Schemas.Durability? = nil,
        autoRenew: Bool = false
    ) {
        renewal = Mutex(autoRenew ? .starting : .stopped)
        self.durability = durability
        name = wire.name
        fence = wire.fence
        token = wire.token
        owner = wire.owner
        mode = LockMode(wire.mode)
        limit = wire.limit
        self.remote = remote
        state = Mutex(LeaseState(expiresAt: wire.expiresAt, ttl: .milliseconds(wire.ttlMs), sentAt: sentAt))
    }

    deinit {
        // Nobody can release it now: stop renewing, so that it ends at its TTL.
        stopRenewing()
    }

    /// When the lease expires unless renewed, on lockd's clock, as of the last acquire or renew.
    public var expiresAt: Date { state.withLock { $0.expiresAt } }

    /// The lease's time to live, as of the last acquire or renew.
    public var ttl: Duration { state.withLock { $0.ttl } }

    /// Whether the lease has been lost. Once `true`, always `true`; never `true`
    /// for a lease that was released.
    ///
    /// ```swift
    /// for item in batch {
    ///     guard !lease.isLost else { throw LockError.leaseLost }
    ///     try await orders.write(item, fence: lease.fence)
    /// }
    /// ```
    public var isLost: Bool { phase == .lost }

    /// Extends the lease to `ttl` from now (default: its current TTL); same token, same fence.
    ///
    /// ```swift
    /// try await lease.renew(ttl: .minutes(2))
    /// ```
    ///
    /// While lockd cannot be reached or answers 503, the renewal is retried until
    /// the client's `timeout` passes or the lease runs out, whichever is first.
    ///
    /// - Parameters:
    ///   - ttl: The new time to live, 100 ms to 24 h; `nil` keeps the current one.
    ///   - durability: ``Durability/replicated`` to have the renewal confirmed by
    ///     a Redis replica; `nil`: what the lease was acquired with.
    /// - Throws: ``LockError/leaseLost`` if the lease is lost (lockd no longer knows
    ///   its token, or its TTL ran out first) or was released; other ``LockError``
    ///   cases if lockd could not be asked in time.
    public func renew(ttl: Duration? = nil, durability: Durability? = nil) async throws {
        let deadline = state.withLock { $0.deadline }
        do {
            try await remote.retrying(until: min(.now + remote.timeout, deadline)) { until in
                try await renewOnce(ttl: ttl, durability: durability?.wire, until: until)
            }
        } catch let error as LockError where error.isRetryable && phase == .lost {
            throw LockError.leaseLost
        }
    }

    /// Gives the lock back and stops the background renewal. Releasing a released
    /// lease does nothing.
    ///
    /// ```swift
    /// try await lease.release()
    /// ```
    ///
    /// While lockd cannot be reached or answers 503, the release is retried until
    /// the client's `timeout` passes; if the lease runs out first, nothing is held
    /// any more and the release returns.
    ///
    /// - Throws: ``LockError/leaseLost`` if the lease had been lost before it was
    ///   given back (lockd no longer knew it); other ``LockError`` cases if lockd
    ///   could not be asked in time — the lease then ends at its TTL.
    public func release() async throws {
        try await releaseOnCallersExecutor()
    }

    /// ``release()``'s work, on the caller's executor: `withLock` releases without
    /// a hop in and out.
    nonisolated(nonsending) func releaseOnCallersExecutor() async throws {
        let before = update { $0.beginRelease() }
        stopRenewing()
        switch before {
        case .released: return
        case .lost: throw LockError.leaseLost
        case .held, .releasing: break
        }
        // A release whose answer was lost may have gone through, and so may
        // one answered 503 (lockd lost Redis after sending the script): lockd's
        // "no such lease" to the next attempt is then our own doing. Kept in the
        // state, for a release taken up again (releaseIgnoringCancellation).
        do {
            let deadline = state.withLock { $0.deadline }
            try await remote.retryingEnd(until: min(.now + remote.timeout, deadline), uncertain: { state.withLock { $0.releaseUncertain() } }) { until in
                try await remote.release(name, token: token, until: until)
            }
            update { $0.released() }
        } catch LockError.leaseLost {
            update { $0.releaseRefused() }
            // A concurrent release may have been answered first.
            if phase == .lost { throw LockError.leaseLost }
        } catch let error as LockError where error.isRetryable {
            // Ran out while lockd could not be asked: then nothing is held.
            if phase == .released { return }
            throw error
        }
    }

    // MARK: - Internals

    /// Where the lease is now, after ending it if its deadline has passed.
    var phase: LeaseState.Phase {
        update { state in (state.expire(ifDueAt: .now), state.phase) }
    }

    /// One renewal request, bounded by `deadline`.
    nonisolated(nonsending) func renewOnce(ttl: Duration?, durability: Components.Schemas.Durability? = nil, until deadline: ContinuousClock.Instant) async throws {
        guard phase == .held else { throw LockError.leaseLost }
        let sentAt = ContinuousClock.now
        let wire: Components.Schemas.Lease
        do {
            wire = try await remote.renew(name, token: token, ttl: ttl, durability: durability ?? self.durability, until: deadline)
        } catch LockError.leaseLost {
            update { $0.lost() }
            throw LockError.leaseLost
        }
        let held = update { state in
            (state.renewed(expiresAt: wire.expiresAt, ttl: .milliseconds(wire.ttlMs), sentAt: sentAt), state.phase == .held)
        }
        guard held else { throw LockError.leaseLost }
    }

    /// Applies a transition and wakes whoever waits for a change, outside the lock.
    @discardableResult
    func update<T>(_ transition: (inout LeaseState) -> (LeaseState.Wakeups, T)) -> T {
        let (wakeups, result, becameLost) = state.withLock { state in
            let wasLost = state.phase == .lost
            let (wakeups, result) = transition(&state)
            return (wakeups, result, !wasLost && state.phase == .lost)
        }
        for continuation in wakeups { continuation.resume() }
        if becameLost { cancelBody() }
        return result
    }

    func update(_ transition: (inout LeaseState) -> LeaseState.Wakeups) {
        update { (transition(&$0), ()) }
    }
}

extension Lease: CustomStringConvertible {
    /// Name, fence and expiry; never the token.
    public var description: String {
        "Lease(name: \(name), fence: \(fence), expiresAt: \(expiresAt)\(isLost ? ", lost" : ""))"
    }
}
