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
        var wakeHandler: (@Sendable (StoreEvent) -> Void)?
    }

    /// A notice to deliver once the lock is let go.
    fileprivate typealias Notice = (event: StoreEvent, handler: @Sendable (StoreEvent) -> Void)

    private let state = Mutex(State())

    /// Creates an empty store.
    public init() {}

    public func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        let now = WallClock.milliseconds()
        let (result, notice) = state.withLock { state -> (AcquireResult, Notice?) in
            state.sweepIfDue(now: now)
            var record = state.records[attempt.name] ?? Record()
            defer { state.store(record, for: attempt.name) }
            if let lease = record.lease, lease.expiresAtMs > now {
                if lease.token == attempt.token {
                    record.lease?.ttlMs = attempt.ttlMs
                    record.lease?.expiresAtMs = now + attempt.ttlMs
                    let wasHead = attempt.waiter != nil && record.queue.first == attempt.waiter
                    record.queue.removeAll { $0 == attempt.waiter }
                    let notice = wasHead ? state.notice(for: attempt.name, record, now: now) : nil
                    return (.granted(Self.lease(record.lease!, name: attempt.name), isRetry: true), notice)
                }
                if let waiter = attempt.waiter, !record.queue.contains(waiter) { record.queue.append(waiter) }
                let remaining = lease.expiresAtMs - now
                return (.held(holders: [Self.holder(lease, now: now)], retryAfterMs: remaining,
                              hint: WaitHint(recheckAfterMs: remaining)), nil)
            }
            record.lease = nil
            if let head = record.queue.first, head != attempt.waiter {
                if let waiter = attempt.waiter, !record.queue.contains(waiter) { record.queue.append(waiter) }
                return (.held(holders: [], retryAfterMs: 0, hint: WaitHint(wake: [head])), nil)
            }
            let wasHead = attempt.waiter != nil && record.queue.first == attempt.waiter
            if wasHead { record.queue.removeFirst() }
            let fence = state.nextFence()
            let lease = StoredLease(
                token: attempt.token, fence: fence, ttlMs: attempt.ttlMs,
                expiresAtMs: now + attempt.ttlMs, owner: attempt.owner
            )
            record.lease = lease
            // The next waiter learns when this lease ends: expiry tells no one.
            let hint = wasHead && !record.queue.isEmpty ? WaitHint(recheckAfterMs: attempt.ttlMs) : .none
            return (.granted(Self.lease(lease, name: attempt.name), isRetry: false, hint: hint), nil)
        }
        if let notice { notice.handler(notice.event) }
        return result
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
        let (released, notice) = state.withLock { state -> (Bool, Notice?) in
            guard var record = state.records[name], let lease = record.lease,
                  lease.expiresAtMs > now, lease.token == token
            else { return (false, nil) }
            record.lease = nil
            state.store(record, for: name)
            return (true, state.notice(for: name, record, now: now))
        }
        if let notice { notice.handler(notice.event) }
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
        let now = WallClock.milliseconds()
        let notice = state.withLock { state -> Notice? in
            guard var record = state.records[name], let index = record.queue.firstIndex(of: waiter) else { return nil }
            record.queue.remove(at: index)
            state.store(record, for: name)
            return index == 0 ? state.notice(for: name, record, now: now) : nil
        }
        if let notice { notice.handler(notice.event) }
    }

    /// One process: a waiter leaves the queue as soon as its caller goes,
    /// so nothing needs keeping alive, and nothing is ever forgotten.
    public func beat(names: Set<LockName>) async throws(LockError) -> Bool { true }

    public func reconcile(_ queues: [LocalQueue]) async throws(LockError) -> [QueueRepair] {
        let now = WallClock.milliseconds()
        return state.withLock { state in
            queues.map { queue in
                var record = state.records[queue.name] ?? Record()
                var restored = 0
                if let missing = queue.waiters.firstIndex(where: { !record.queue.contains($0) }) {
                    // From the first missing one on, all go to the tail in order.
                    let moved = Array(queue.waiters[missing...])
                    record.queue.removeAll { moved.contains($0) }
                    record.queue.append(contentsOf: moved)
                    restored = moved.count
                }
                state.store(record, for: queue.name)
                var hint = WaitHint.none
                if let lease = record.lease, lease.expiresAtMs > now {
                    hint.recheckAfterMs = lease.expiresAtMs - now
                } else if let head = record.queue.first {
                    hint.wake = [head]
                }
                return QueueRepair(name: queue.name, restored: restored, hint: hint)
            }
        }
    }

    public func deliverEvents(to handler: @escaping @Sendable (StoreEvent) -> Void) async {
        state.withLock { $0.wakeHandler = handler }
        // Notices are delivered by the calls that cause them; this task only
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

    /// What the queue's head must hear after the lock or the queue changed:
    /// look again when the lease ends, or take the lock now.
    fileprivate func notice(for name: LockName, _ record: InMemoryLockStore.Record, now: Int64) -> InMemoryLockStore.Notice? {
        guard let head = record.queue.first, let wakeHandler else { return nil }
        let hint = if let lease = record.lease, lease.expiresAtMs > now {
            WaitHint(recheckAfterMs: lease.expiresAtMs - now)
        } else {
            WaitHint(wake: [head])
        }
        return (.wakeup(Wakeup(name: name, hint: hint)), wakeHandler)
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
