import Foundation
import Synchronization

/// The right to a lock until ``expiresAt``: what ``LockClient/tryAcquire(_:ttl:wait:)``,
/// ``LockClient/acquire(_:ttl:wait:)`` and ``LockClient/withLock(_:ttl:wait:isolation:_:)`` hand out.
///
/// Send ``fence`` along with every write to the protected resource, so that it can
/// refuse a holder whose lease has since ended. Keep the lease alive with
/// ``renew(ttl:)`` (``LockClient/withLock(_:ttl:wait:isolation:_:)`` does that for
/// you), give it back with ``release()``, and watch ``isLost`` or
/// ``waitUntilLost()`` to learn that it ended early.
///
/// ```swift
/// if let lease = try await locks.tryAcquire("orders", ttl: .seconds(30)) {
///     try await orders.write(batch, fence: lease.fence)
///     try await lease.renew()              // 30 s more
///     try await orders.write(more, fence: lease.fence)
///     try await lease.release()
/// }
/// ```
///
/// A lease is lost when lockd says its token no longer holds the lock, or when
/// its TTL runs out on the client's clock (counted from when the last acquire or
/// renew was sent, so never later than lockd's own expiry) without a renewal.
/// Once lost, it stays lost.
public final class Lease: Sendable {
    /// The lock's name.
    public let name: String
    /// This lease's fence: greater than every fence issued for ``name`` before it.
    public let fence: Int64
    /// The lease's secret, needed to renew or release it. Keep it out of logs and URLs.
    public let token: String
    /// The owner label given at acquire, if any.
    public let owner: String?

    private let remote: RemoteLocks
    private let state: Mutex<LeaseState>

    init(_ wire: Components.Schemas.Lease, sentAt: ContinuousClock.Instant, remote: RemoteLocks) {
        name = wire.name
        fence = wire.fence
        token = wire.token
        owner = wire.owner
        self.remote = remote
        state = Mutex(LeaseState(expiresAt: wire.expiresAt, ttl: .milliseconds(wire.ttlMs), sentAt: sentAt))
    }

    /// When the lease expires unless renewed, on lockd's clock, as of the last acquire or renew.
    public var expiresAt: Date { state.withLock { $0.expiresAt } }

    /// The lease's time to live, as of the last acquire or renew.
    public var ttl: Duration { state.withLock { $0.ttl } }

    /// Whether the lease has been lost. Once `true`, always `true`.
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
    /// - Parameter ttl: The new time to live, 100 ms to 24 h; `nil` keeps the current one.
    /// - Throws: ``LockError/leaseLost`` if the lease is lost (lockd no longer knows
    ///   its token, or its TTL ran out first) or was released; other ``LockError``
    ///   cases if lockd could not be asked.
    public func renew(ttl: Duration? = nil) async throws {
        try await renew(ttl: ttl, until: nil)
    }

    /// Gives the lock back. Releasing a released lease does nothing.
    ///
    /// ```swift
    /// try await lease.release()
    /// ```
    ///
    /// - Throws: ``LockError/leaseLost`` if lockd no longer knew the lease (it had
    ///   expired or was taken), other ``LockError`` cases if lockd could not be asked;
    ///   the lease then expires at its TTL.
    public func release() async throws {
        guard phase != .released else { return }
        do {
            try await remote.release(name, token: token)
            update { $0.released() }
        } catch LockError.leaseLost {
            update { $0.lost() }
            throw LockError.leaseLost
        }
    }

    /// Suspends until the lease is lost; returns at once if it already is.
    ///
    /// The counterpart of DistributedLock's `HandleLostToken`: race it against the
    /// work the lease protects.
    ///
    /// ```swift
    /// try await withThrowingTaskGroup(of: Void.self) { group in
    ///     group.addTask { try await migrate(fence: lease.fence) }
    ///     group.addTask {
    ///         try await lease.waitUntilLost()
    ///         throw LockError.leaseLost
    ///     }
    ///     try await group.next()   // whichever ends first
    ///     group.cancelAll()
    /// }
    /// ```
    ///
    /// - Throws: `CancellationError` if the calling task is cancelled first, or if
    ///   the lease is released first (it can no longer be lost).
    public func waitUntilLost() async throws {
        while true {
            try Task.checkCancellation()
            let (phase, deadline, version) = update { state in
                (state.expire(ifDueAt: .now), (state.phase, state.deadline, state.version))
            }
            switch phase {
            case .lost: return
            case .released: throw CancellationError()
            case .held: break
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
                group.addTask { await self.nextChange(after: version) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    // MARK: - Internals shared with withLock's renewal loop

    /// Where the lease is now, after marking it lost if its deadline has passed.
    var phase: LeaseState.Phase {
        update { state in (state.expire(ifDueAt: .now), state.phase) }
    }

    /// A snapshot of the lease's timing, read under one lock.
    var timing: (deadline: ContinuousClock.Instant, renewedAt: ContinuousClock.Instant, ttl: Duration) {
        state.withLock { ($0.deadline, $0.renewedAt, $0.ttl) }
    }

    /// Renews with the request bounded by `deadline` (default: the client's timeout).
    func renew(ttl: Duration?, until deadline: ContinuousClock.Instant?) async throws {
        guard phase == .held else { throw LockError.leaseLost }
        let sentAt = ContinuousClock.now
        let wire: Components.Schemas.Lease
        do {
            wire = try await remote.renew(name, token: token, ttl: ttl, until: deadline)
        } catch LockError.leaseLost {
            update { $0.lost() }
            throw LockError.leaseLost
        }
        let held = update { state in
            (state.renewed(expiresAt: wire.expiresAt, ttl: .milliseconds(wire.ttlMs), sentAt: sentAt), state.phase == .held)
        }
        guard held else { throw LockError.leaseLost }
    }

    /// Releases even when the calling task is cancelled; other failures leave the
    /// lease to end at its TTL.
    /// - Returns: Whether lockd answered that the lease was already gone.
    func releaseIgnoringCancellation() async -> Bool {
        // Why a task of its own: see RemoteLocks.releaseIgnoringCancellation.
        await Task {
            do {
                try await self.release()
                return false
            } catch LockError.leaseLost {
                return true
            } catch {
                return false
            }
        }.value
    }

    // MARK: - State

    /// Applies a transition and wakes whoever waits for a change, outside the lock.
    @discardableResult
    private func update<T>(_ transition: (inout LeaseState) -> (LeaseState.Wakeups, T)) -> T {
        let (wakeups, result) = state.withLock { transition(&$0) }
        for continuation in wakeups { continuation.resume() }
        return result
    }

    private func update(_ transition: (inout LeaseState) -> LeaseState.Wakeups) {
        update { (transition(&$0), ()) }
    }

    /// Returns after the next change to the state past `version`, or when cancelled.
    private func nextChange(after version: UInt64) async {
        let id = state.withLock { $0.makeWaiterID() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Checked under the lock that onCancel also takes: either onCancel
                // finds the waiter, or this sees the cancellation and never registers.
                let registered = state.withLock { state in
                    !Task.isCancelled && state.wait(after: version, id: id, continuation)
                }
                if !registered { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.cancelWait(id: id) }?.resume()
        }
    }
}

extension Lease: CustomStringConvertible {
    /// Name, fence and expiry; never the token.
    public var description: String {
        "Lease(name: \(name), fence: \(fence), expiresAt: \(expiresAt)\(isLost ? ", lost" : ""))"
    }
}
