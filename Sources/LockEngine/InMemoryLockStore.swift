import Synchronization

/// A ``LockStore`` inside one process: for a first run, development and
/// tests. Not durable and not shared — two lockd processes with in-memory
/// stores are two unrelated lock services.
///
/// Fences are seeded from the wall clock in microseconds, so they still grow
/// across restarts of the process (as long as the clock does).
public final class InMemoryLockStore: LockStore {
    fileprivate struct StoredLease {
        var token: LeaseToken
        var fence: Int64
        var ttlMs: Int64
        var expiresAtMs: Int64
        var owner: String?
    }

    fileprivate struct Record {
        var lease: StoredLease?
        var queue: [WaiterID] = []
    }

    fileprivate struct State {
        var records: [LockName: Record] = [:]
        var lastFence: Int64 = 0
        var operationsSinceSweep = 0
        var wakeHandler: (@Sendable (Wakeup) -> Void)?
    }

    private let state = Mutex(State())

    /// Creates an empty store.
    public init() {}

    public func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        let now = WallClock.milliseconds()
        return state.withLock { state in
            state.sweepIfDue(now: now)
            var record = state.records[attempt.name] ?? Record()
            defer { state.store(record, for: attempt.name) }
            if let lease = record.lease, lease.expiresAtMs > now {
                if lease.token == attempt.token {
                    record.lease?.ttlMs = attempt.ttlMs
                    record.lease?.expiresAtMs = now + attempt.ttlMs
                    record.queue.removeAll { $0 == attempt.waiter }
                    return .granted(Self.lease(record.lease!, name: attempt.name), isRetry: true)
                }
                if let waiter = attempt.waiter, !record.queue.contains(waiter) { record.queue.append(waiter) }
                return .held(
                    holders: [Self.holder(lease, now: now)],
                    retryAfterMs: lease.expiresAtMs - now,
                    isHeadOfQueue: attempt.waiter != nil && record.queue.first == attempt.waiter
                )
            }
            record.lease = nil
            if let head = record.queue.first, head != attempt.waiter {
                if let waiter = attempt.waiter, !record.queue.contains(waiter) { record.queue.append(waiter) }
                return .held(holders: [], retryAfterMs: 0, isHeadOfQueue: false)
            }
            if attempt.waiter != nil, record.queue.first == attempt.waiter { record.queue.removeFirst() }
            let fence = state.nextFence()
            let lease = StoredLease(
                token: attempt.token, fence: fence, ttlMs: attempt.ttlMs,
                expiresAtMs: now + attempt.ttlMs, owner: attempt.owner
            )
            record.lease = lease
            return .granted(Self.lease(lease, name: attempt.name), isRetry: false)
        }
    }

    public func renew(_ name: LockName, token: LeaseToken, ttlMs: Int64?) async throws(LockError) -> Lease? {
        let now = WallClock.milliseconds()
        return state.withLock { state -> Lease? in
            guard var lease = state.records[name]?.lease, lease.expiresAtMs > now, lease.token == token else { return nil }
            lease.ttlMs = ttlMs ?? lease.ttlMs
            lease.expiresAtMs = now + lease.ttlMs
            state.records[name]?.lease = lease
            return Self.lease(lease, name: name)
        }
    }

    public func release(_ name: LockName, token: LeaseToken) async throws(LockError) -> Bool {
        let now = WallClock.milliseconds()
        let (released, wakeup) = state.withLock { state -> (Bool, (Wakeup, @Sendable (Wakeup) -> Void)?) in
            guard var record = state.records[name], let lease = record.lease,
                  lease.expiresAtMs > now, lease.token == token
            else { return (false, nil) }
            record.lease = nil
            state.store(record, for: name)
            return (true, state.wakeupForHead(of: name))
        }
        if let (message, handler) = wakeup { handler(message) }
        return released
    }

    public func status(of name: LockName) async throws(LockError) -> LockStatus {
        let now = WallClock.milliseconds()
        return state.withLock { state in
            guard let lease = state.records[name]?.lease, lease.expiresAtMs > now else {
                return LockStatus(name: name, holders: [])
            }
            return LockStatus(name: name, holders: [Self.holder(lease, now: now)])
        }
    }

    public func list(prefix: String, limit: Int, cursor: String?) async throws(LockError) -> LockPage {
        let after = try cursor.map { (text: String) throws(LockError) in try ListCursor.decode(text).after } ?? ""
        let now = WallClock.milliseconds()
        return state.withLock { state in
            let held = state.records
                .filter { name, record in
                    guard let lease = record.lease, lease.expiresAtMs > now else { return false }
                    guard name.value.hasPrefix(prefix) else { return false }
                    return after.utf8.lexicographicallyPrecedes(name.value.utf8)
                }
                .sorted { $0.key < $1.key }
            let page = held.prefix(limit).map { name, record in
                LockStatus(name: name, holders: record.lease.map { [Self.holder($0, now: now)] } ?? [])
            }
            let next = held.count > limit ? page.last.map { ListCursor(scan: 0, after: $0.name.value).encoded } : nil
            return LockPage(locks: page, nextCursor: next)
        }
    }

    public func removeWaiter(_ waiter: WaiterID, from name: LockName) async throws(LockError) {
        let wakeup = state.withLock { state -> (Wakeup, @Sendable (Wakeup) -> Void)? in
            guard var record = state.records[name], let index = record.queue.firstIndex(of: waiter) else { return nil }
            record.queue.remove(at: index)
            state.store(record, for: name)
            return index == 0 ? state.wakeupForHead(of: name) : nil
        }
        if let (message, handler) = wakeup { handler(message) }
    }

    /// One process: a waiter leaves the queue as soon as its caller goes, so
    /// liveness needs no refresh. Still wakes the head of any listed queue
    /// whose lock is free, as the Redis store does, so a lost wake-up costs
    /// at most one heartbeat interval.
    public func heartbeat(_ waiters: [LockName: [WaiterID]]) async throws(LockError) {
        let now = WallClock.milliseconds()
        let wakeups = state.withLock { state -> [(Wakeup, @Sendable (Wakeup) -> Void)] in
            waiters.keys.compactMap { name -> (Wakeup, @Sendable (Wakeup) -> Void)? in
                guard let record = state.records[name] else { return nil }
                if let lease = record.lease, lease.expiresAtMs > now { return nil }
                return state.wakeupForHead(of: name)
            }
        }
        for (message, handler) in wakeups { handler(message) }
    }

    public func deliverWakeups(to handler: @escaping @Sendable (Wakeup) -> Void) async {
        state.withLock { $0.wakeHandler = handler }
        // Wake-ups are delivered by the calls that cause them; this task only
        // marks how long the handler stays installed.
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3_600))
        }
        state.withLock { $0.wakeHandler = nil }
    }

    public func checkReady() async throws(LockError) {}

    public func close() async {
        state.withLock { $0.wakeHandler = nil }
    }

    private static func lease(_ stored: StoredLease, name: LockName) -> Lease {
        Lease(name: name, token: stored.token, fence: stored.fence, ttlMs: stored.ttlMs,
              expiresAtMs: stored.expiresAtMs, owner: stored.owner)
    }

    private static func holder(_ stored: StoredLease, now: Int64) -> Holder {
        Holder(owner: stored.owner, fence: stored.fence, expiresAtMs: stored.expiresAtMs,
               remainingMs: stored.expiresAtMs - now)
    }
}

extension InMemoryLockStore.State {
    /// Keeps a record only while it holds a lease or a queue.
    fileprivate mutating func store(_ record: InMemoryLockStore.Record, for name: LockName) {
        records[name] = record.lease == nil && record.queue.isEmpty ? nil : record
    }

    /// Strictly greater than every fence before, for every name: one counter
    /// that never falls behind the wall clock in microseconds, so a restarted
    /// process still issues larger fences without remembering old ones.
    fileprivate mutating func nextFence() -> Int64 {
        lastFence = max(lastFence + 1, WallClock.microseconds())
        return lastFence
    }

    fileprivate func wakeupForHead(of name: LockName) -> (Wakeup, @Sendable (Wakeup) -> Void)? {
        guard let head = records[name]?.queue.first, let wakeHandler else { return nil }
        return (Wakeup(name: name, waiter: head), wakeHandler)
    }

    /// Drops expired leases now and then, so names used once do not stay in
    /// memory forever.
    fileprivate mutating func sweepIfDue(now: Int64) {
        operationsSinceSweep += 1
        guard operationsSinceSweep >= 4096 else { return }
        operationsSinceSweep = 0
        for (name, record) in records where record.queue.isEmpty {
            if let lease = record.lease, lease.expiresAtMs > now { continue }
            records[name] = nil
        }
    }
}
