import LockEngine

/// A test's store that passes each operation to a real store, ``inner``,
/// and changes only the few it declares itself (a stall, a failure, a
/// count).
///
/// What is forwarded here, and what is not, keeps the wrapper in the way of
/// every call the engine makes:
/// - The `async` operations are forwarded, each a default for a
///   ``LockStore`` requirement: a wrapper's own method of the same
///   signature is the requirement's witness, so the engine's calls (through
///   `any LockStore`) reach it. A method that only nearly matches (another
///   isolation, another error type) would be a mere overload and leave the
///   default in place: declare overrides with the requirement's exact
///   signature, and break each once to see its test fail.
/// - The callback forms (`acquire(_:cancellation:completion:)`, the
///   releases') are *not* forwarded: they keep ``LockStore``'s own default,
///   which runs the wrapper's `async` form in a task, so a wrapper that
///   changes `acquire(_:)` changes what the engine's callback calls see too
///   (the wrapper is a store that only awaits, whatever `inner` is). The
///   same holds for `releaseReportingHolder` and `forceReleaseReportingHolder`,
///   made from the wrapper's `status`, `release` and `forceRelease`.
/// - Events are not delivered, and ``close()`` leaves `inner` open: it
///   belongs to the fixture that made it.
public protocol ForwardingLockStore: LockStore {
    /// The real store each operation goes to unless the wrapper changes it.
    var inner: any LockStore { get }
}

extension ForwardingLockStore {
    public nonisolated(nonsending) func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        try await inner.acquire(attempt)
    }

    public nonisolated(nonsending) func renew(
        _ name: LockName, token: LeaseToken, ttlMs: Int64?, durability: Durability
    ) async throws(LockError) -> Lease? {
        try await inner.renew(name, token: token, ttlMs: ttlMs, durability: durability)
    }

    public nonisolated(nonsending) func release(_ name: LockName, token: LeaseToken) async throws(LockError) -> Bool {
        try await inner.release(name, token: token)
    }

    public nonisolated(nonsending) func giveBack(
        _ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool
    ) async throws(LockError) -> Bool {
        try await inner.giveBack(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed)
    }

    public func forceRelease(_ name: LockName, fence: Int64) async throws(LockError) -> LeaseToken? {
        try await inner.forceRelease(name, fence: fence)
    }

    public func status(of name: LockName) async throws(LockError) -> LockStatus {
        try await inner.status(of: name)
    }

    public func list(prefix: String, limit: Int, cursor: String?) async throws(LockError) -> LockPage {
        try await inner.list(prefix: prefix, limit: limit, cursor: cursor)
    }

    public func removeWaiter(_ waiter: WaiterID, from name: LockName, reclaimingGrant: Bool) async throws(LockError) {
        try await inner.removeWaiter(waiter, from: name, reclaimingGrant: reclaimingGrant)
    }

    public func beat(names: Set<LockName>) async throws(LockError) -> Bool {
        try await inner.beat(names: names)
    }

    public func reconcile(_ queues: [LocalQueue]) async throws(LockError) -> [QueueRepair] {
        try await inner.reconcile(queues)
    }

    public func deliverEvents(to handler: @escaping @Sendable (StoreEvent) -> Void) async {}

    public func checkReady() async throws(LockError) {
        try await inner.checkReady()
    }

    public func close() async {}
}
