import LockdTransport
import Logging
import Synchronization

/// Lock semantics over a ``LockStore``: validation, retry-safe acquire,
/// waiting in a fair queue, and the guarantee that no dead lease is handed out.
///
/// ```swift
/// let engine = LockEngine(store: InMemoryLockStore(), loops: group, logger: logger)
/// let grant = try await engine.acquire(AcquireRequest(name: LockName("orders"), ttlMs: 30_000))
/// try await engine.release(grant.lease.name, token: grant.lease.token)
/// ```
public final class LockEngine: Sendable {
    /// The rules and limits in force.
    public let configuration: LockEngineConfiguration
    let store: any LockStore
    /// The store, when its operations never wait: requests that need not
    /// wait are answered through it without a task.
    let immediateStore: (any ImmediateLockStore)?
    /// The store, when it counts the leases it grants itself (the
    /// in-memory store): the ledger then hears nothing of them. Held as
    /// the one store that does (``LeaseCountingStore``), not as the
    /// protocol: its calls are then direct, and its at-once acquire is
    /// made inline in the engine's (through the existential, a witness
    /// call and a frame of its own, ~25 instructions an acquire).
    let countingStore: InMemoryLockStore?
    /// Whether ``countingStore`` is set (known once, as ``answersAtOnce``).
    let storeCountsLeases: Bool
    let waiters: WaiterRegistry
    let logger: Logger
    let metrics: LockMetrics
    /// Since when the store has been failing (monotonic ns; 0: it serves).
    let outageSince = Atomic<UInt64>(0)
    /// Wakes the upkeep task (the liveness beat) on time, or early (a
    /// reconnection, a stray queue entry).
    let upkeep: Doorbell
    /// Rings the clean-up task (stray queue entries, leases to give back),
    /// which runs apart from the beat so that its store calls never delay it.
    let cleanupBell: Doorbell
    /// Work for the upkeep task.
    let pendingUpkeep = Mutex(PendingUpkeep())
    /// This process's event watchers (`GET /events`).
    public let events: LockEventHub
    /// Wakes the expiry task when a watched lease may expire sooner.
    let expiryBell: Doorbell
    /// Waiters whose handed grant reached its client: a duplicate wake-up
    /// for one must not give its lease back (see ``follow(_:on:isOrdered:)``).
    let deliveredGrants = DeliveredGrants()

    /// Creates an engine over `store`; `loops` runs its timers.
    /// - Parameter upkeepLoop: times the liveness beat; give it a loop that
    ///   serves no requests (the one of the store's liveness connection), so
    ///   request load cannot delay a beat. Default: one of `loops`.
    public init(
        store: any LockStore,
        configuration: LockEngineConfiguration = .init(),
        loops: EventLoopGroup,
        upkeepLoop: EventLoop? = nil,
        metrics: LockMetrics = LockMetrics(),
        logger: Logger
    ) {
        self.store = store
        self.immediateStore = store as? any ImmediateLockStore
        self.answersAtOnce = immediateStore != nil
        let countingStore = store as? InMemoryLockStore
        self.countingStore = countingStore
        self.storeCountsLeases = countingStore != nil
        if let countingStore { metrics.leases.countedBy(countingStore) }
        self.configuration = configuration
        self.waiters = WaiterRegistry(loops: loops)
        self.upkeep = Doorbell(loop: upkeepLoop ?? loops.next())
        self.cleanupBell = Doorbell(loop: upkeepLoop ?? loops.next())
        let expiryBell = Doorbell(loop: upkeepLoop ?? loops.next())
        self.expiryBell = expiryBell
        self.events = LockEventHub(expiryBell: expiryBell, interest: { [store] interested in store.setEventInterest(interested) },
                                   prefixes: { [store] prefixes in store.setWatchedPrefixes(prefixes) })
        self.metrics = metrics
        self.logger = logger
    }

    /// Whether the store's operations never wait, so that ``acquireAtOnce(_:)``
    /// and ``releaseAtOnce(_:token:)`` can answer. Known once (asked on every
    /// request, comparing the store's existential with nil copied it).
    public let answersAtOnce: Bool

    /// ``LockStore/mayWatch(_:)`` of the store, asked of the in-memory
    /// store directly (an atomic load, inline): through the existential, a
    /// witness call (~15 instructions an acquire and a release).
    @inline(__always)
    func mayWatch(_ name: LockName) -> Bool {
        storeCountsLeases ? countingStore?.mayWatch(name) == true : store.mayWatch(name)
    }

    /// The lock's holders (none for a free or never-used name).
    public func status(of name: LockName) async throws(LockError) -> LockStatus {
        try await store.status(of: name)
    }

    /// The holder of `name` whose live lease has `fence`: Chubby's
    /// CheckSequencer. One store round trip, as an inspect.
    /// - Throws: ``LockError/notHeld(fence:)`` when no live lease of `name`
    ///   has that fence (released, expired or never issued).
    public func holder(of name: LockName, fence: Int64) async throws(LockError) -> Holder {
        let status = try await store.status(of: name)
        guard let holder = status.holders.first(where: { $0.fence == fence && $0.remainingMs > 0 }) else {
            throw .notHeld(fence: fence)
        }
        return holder
    }

    /// One page of held locks.
    /// - Throws: ``LockError/invalidRequest(_:)`` for a bad prefix, limit or cursor.
    public func list(prefix: String, limit: Int, cursor: String?) async throws(LockError) -> LockPage {
        guard LockName.isValidPrefix(prefix) else {
            throw .invalidRequest("prefix may contain only A-Z a-z 0-9 . _ : - and at most \(LockName.maxLength) bytes")
        }
        guard (1...1000).contains(limit) else { throw .invalidRequest("limit must be between 1 and 1000") }
        return try await store.list(prefix: prefix, limit: limit, cursor: cursor)
    }

    /// Throws unless the store serves and lockd is not shutting down.
    public func checkReady() async throws(LockError) {
        guard !waiters.isShuttingDown else { throw .unavailable("lockd is shutting down") }
        try await store.checkReady()
    }

    /// How many acquires are waiting in this process now.
    public var waiterCount: Int { waiters.count }

    /// Answers every waiting acquire with ``LockError/unavailable(_:)`` and
    /// refuses new ones; the first step of a graceful shutdown.
    public func beginShutdown() {
        waiters.shutDown()
    }
}
