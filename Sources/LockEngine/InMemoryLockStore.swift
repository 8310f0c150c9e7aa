import LockdTransport
import Synchronization

/// A ``LockStore`` inside one process: for a first run, development and
/// tests. Not durable and not shared — two lockd processes with in-memory
/// stores are two unrelated lock services.
///
/// Fences are seeded from the wall clock in microseconds, so they still grow
/// across restarts of the process (as long as the clock does).
public final class InMemoryLockStore: ImmediateLockStore, LeaseCountingStore {
    fileprivate typealias Record = InMemoryLockRecord

    fileprivate struct State {
        var records = InMemoryRecordTable()
        var lastFence: Int64 = 0
        var operationsSinceSweep = 0
        /// Operations before the next sweep: as many as the records the last
        /// sweep left (4 096 at least).
        var operationsBeforeSweep = InMemoryLockStore.minimumSweepInterval
        /// Records released to nothing and kept for reuse since the last
        /// sweep (see ``InMemoryLockStore/end(_:forced:where:reporting:)``).
        var emptiedSinceSweep = 0
        var wakeHandler: (@Sendable (StoreEvent) -> Void)?
        /// An empty lease array for the next record made on a free name
        /// (a swept record's, emptied as it is taken, or the last dropped
        /// record's): a fresh name's record then allocates no array (~0.35 k
        /// instructions). A released name keeps its own record and array
        /// until a sweep.
        var spareLeases: [Record.StoredLease] = []
        /// The lease arrays of records a sweep removed, to be the next
        /// ``spareLeases``: where names are taken once and left to expire,
        /// each record's array was allocated on its grant and freed by a
        /// sweep among thousands of others, which malloc then sorted back
        /// through its bins (~2.5% of lockd's CPU at 10^5 names). No more
        /// are kept than the acquires before the next sweep could use.
        /// Kept as they were (their ended leases in them) and emptied as
        /// each becomes the spare: the sweep reads no lease, and the
        /// lines an array's emptying reads are the ones the next fresh
        /// name's lease is written into (emptied at the sweep, they were
        /// read there and missed again at the write).
        var sweptLeases: [[Record.StoredLease]] = []
        /// The leases the engine delivered, counted here in place of the
        /// ledger (``LeaseCountingStore``).
        var counting = InMemoryLeaseCounting()
    }

    /// A notice to deliver once the lock is let go. An object, so that
    /// none is one word: as a tuple of the event and its handler, the
    /// absent notice every plain acquire and release returns beside its
    /// answer was a dozen words, zeroed and moved through each return
    /// (~25 instructions a release). Made only where waiters must hear
    /// of a change (a queued name), where it costs an allocation.
    fileprivate final class Notice: Sendable {
        let event: StoreEvent
        let handler: @Sendable (StoreEvent) -> Void

        init(_ event: StoreEvent, handler: @escaping @Sendable (StoreEvent) -> Void) {
            self.event = event
            self.handler = handler
        }
    }

    private let state = Mutex(State())

    /// Hands `notice`, if any, to its handler. Consumed and switched on, a
    /// nil notice is left as it is: `if let`, then the optional destroyed,
    /// went through the runtime's generic `Optional` witness, which looks
    /// the type up (~80 instructions an acquire).
    private static func tell(_ notice: consuming Notice?) {
        switch consume notice {
        case .some(let notice): notice.handler(notice.event)
        case .none: break
        }
    }

    /// The fewest acquires between two sweeps of expired records.
    static let minimumSweepInterval = 4_096
    /// Whether this process has event watchers.
    private let watched = Atomic<Bool>(false)

    /// Creates an empty store.
    public init() {}

    nonisolated(nonsending) public func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        try acquireAtOnce(attempt)
    }

    public func acquireAtOnce(_ attempt: AcquireAttempt) throws(LockError) -> AcquireResult {
        try acquireAtOnce(attempt, countingFrom: 0)
    }

    func acquireAtOnce(_ attempt: AcquireAttempt, countingFrom heldSince: UInt64) throws(LockError) -> AcquireResult {
        try acquireAtOnce(terms: attempt, countingFrom: heldSince)
    }

    /// ``acquireAtOnce(_:countingFrom:)`` of any attempt's terms: the
    /// engine's at-once acquire hands the request's own (``RequestAttempt``).
    /// (Inline in the engine's at-once acquire, its one caller on every request.)
    @inline(__always)
    func acquireAtOnce<Attempt: AttemptTerms>(terms attempt: Attempt, countingFrom heldSince: UInt64) throws(LockError) -> AcquireResult {
        // One reading for the lease's times and its fence (the fence read the clock again, under the lock).
        let micros = WallClock.microseconds()
        let (result, notice) = state.withLock { state in state.acquire(attempt, micros: micros, countingFrom: heldSince) }
        Self.tell(consume notice)
        return try result.get()
    }

    nonisolated(nonsending) public func renew(_ name: LockName, token: LeaseToken, ttlMs: Int64?, durability: Durability) async throws(LockError) -> Lease? {
        let now = WallClock.milliseconds()
        // The ledger's renewal instant, for a counted lease's hold.
        let monotonic = MonotonicClock.now()
        let (lease, notice) = state.withLock { state -> (Lease?, Notice?) in
            guard let place = state.records.place(of: name),
                  let index = state.records[place].leases.firstIndex(where: { $0.token == token && $0.expiresAtMs > now })
            else { return (nil, nil) }
            let before = state.records[place].leases[index].expiresAtMs
            state.records[place].leases[index].ttlMs = ttlMs ?? state.records[place].leases[index].ttlMs
            state.records[place].leases[index].expiresAtMs = now + state.records[place].leases[index].ttlMs
            state.records[place].keepSlot(of: state.records[place].leases[index])
            if state.records[place].leases[index].heldSince != 0 {
                InMemoryLeaseCounting.extend(&state.records[place].leases[index], from: monotonic)
                state.records[place].countedDueMs = min(state.records[place].countedDueMs, state.records[place].leases[index].expiresAtMs)
            }
            let record = state.records[place]
            // Renewed down: the waiters look again at the new expiry, not at
            // the old one they were told (an expiry announces nothing).
            let notice = record.leases[index].expiresAtMs < before ? state.notice(for: name, record, now: now) : nil
            return (record.lease(record.leases[index], name: name), notice)
        }
        Self.tell(consume notice)
        return lease
    }

    nonisolated(nonsending) public func release(_ name: LockName, token: LeaseToken) async throws(LockError) -> Bool {
        releaseAtOnce(name, token: token)
    }

    /// (Inline in the engine's at-once release, which calls it directly.)
    @inline(__always)
    public func releaseAtOnce(_ name: LockName, token: LeaseToken) -> Bool {
        end(name, forced: false, where: { $0.token == token }, reporting: { _, _ in }) != nil
    }

    nonisolated(nonsending) public func giveBack(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool) async throws(LockError) -> Bool {
        giveBackAtOnce(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed)
    }

    public func giveBackAtOnce(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool) -> Bool {
        giveBackCountingAtOnce(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed).ended
    }

    func giveBackCountingAtOnce(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool)
        -> (ended: Bool, counted: Bool) {
        let counted = end(name, forced: false, where: { $0.token == token && $0.isGrant(grant) && (evenIfClaimed || !$0.claimed) },
                          reporting: { lease, _ in lease.heldSince != 0 })
        return (counted != nil, counted == true)
    }

    /// A lease with a lock delay keeps its slot for the delay from now: its
    /// holder, forced out, may still have writes in flight.
    public func forceRelease(_ name: LockName, fence: Int64) async throws(LockError) -> LeaseToken? {
        end(name, forced: true, where: { $0.fence == fence }, reporting: { lease, _ in lease.token })
    }

    public func releaseReportingHolder(_ name: LockName, token: LeaseToken) async throws(LockError) -> Holder? {
        releaseReportingHolderAtOnce(name, token: token)
    }

    public func releaseReportingHolderAtOnce(_ name: LockName, token: LeaseToken) -> Holder? {
        end(name, forced: false, where: { $0.token == token }, reporting: { lease, now in lease.holder(now: now) })
    }

    public func forceReleaseReportingHolder(_ name: LockName, fence: Int64) async throws(LockError) -> (token: LeaseToken, holder: Holder)? {
        end(name, forced: true, where: { $0.fence == fence }, reporting: { lease, now in (lease.token, lease.holder(now: now)) })
    }

    /// Ends the live lease of `name` that `matches`, handing the name to
    /// the waiters that fit now; what `report` says of the ended lease (at
    /// the time it ended), or nil. A record left holding and queueing
    /// nothing stays until the next sweep (a sweep interval's worth at
    /// most; past that it goes at once). `forced`: a lease with a lock delay ends
    /// as if it expired now. A plain release reports nothing: it made the
    /// holder it then dropped (~0.25 k instructions a release).
    /// (Inlined where it is called: grown by the lease counting, it was
    /// left generic, its report called through a witness and the ended
    /// lease copied for it and destroyed, ~0.3 k instructions a release.)
    @inline(__always)
    private func end<Ended: Sendable>(_ name: LockName, forced: Bool, where matches: (Record.StoredLease) -> Bool,
                            reporting report: (Record.StoredLease, _ now: Int64) -> Ended) -> Ended? {
        let now = WallClock.milliseconds()
        // The ledger's release instant, for a counted lease's hold.
        let monotonic = MonotonicClock.now()
        let (ended, notice) = state.withLock { state -> (Ended?, Notice?) in
            // Changed where it is stored: one hash of the name, no copy of its arrays.
            guard let place = state.records.place(of: name),
                  case let (ended, left)? = state.records[place].end(forced: forced, now: now, monotonic: monotonic, where: matches,
                                                                     reporting: report, counting: &state.counting)
            else { return (nil, nil) }
            switch left {
            case .queue: return (ended, state.handOver(at: place, name: name))
            case .leases: return (ended, nil)
            case .nothing:
                // Kept, emptied, for the sweep to drop: a name taken again
                // soon (most names are) finds its record and its lease
                // array, where removed and made again each release and
                // acquire cost ~0.35 k instructions a cycle. It holds no
                // slot from now, and goes at the next sweep if not taken.
                // No more than a sweep interval's worth between sweeps:
                // sweeps come with acquires, so names all released with
                // none after would otherwise keep every record and array
                // (~0.25 KB a name) until as many acquires again (review16).
                guard state.emptiedSinceSweep < InMemoryLockStore.minimumSweepInterval else {
                    state.vacate(at: place)
                    return (ended, nil)
                }
                state.emptiedSinceSweep += 1
                state.records[place].keptUntilMs = now
                return (ended, nil)
            }
        }
        Self.tell(consume notice)
        return ended
    }

    // MARK: Counting leases (``LeaseCountingStore``)

    func countLeases(reportingTo handles: LeaseLedger.Handles) {
        state.withLock { $0.counting.handles = handles }
    }

    func countHold(_ name: LockName, token: LeaseToken, isRetry: Bool, at now: UInt64) {
        let nowMs = WallClock.milliseconds()
        state.withLock { state in
            guard let place = state.records.place(of: name),
                  let index = state.records[place].leases.firstIndex(where: { $0.token == token && $0.expiresAtMs > nowMs })
            else { return }
            if state.records[place].leases[index].heldSince != 0 {
                InMemoryLeaseCounting.extend(&state.records[place].leases[index], from: now)
            } else if !isRetry {
                state.counting.start(&state.records[place].leases[index], at: now)
            } else {
                return
            }
            state.records[place].countedDueMs = min(state.records[place].countedDueMs, state.records[place].leases[index].expiresAtMs)
        }
    }

    func forgetHold(_ name: LockName, token: LeaseToken) {
        state.withLock { state in
            guard let place = state.records.place(of: name),
                  let index = state.records[place].leases.firstIndex(where: { $0.token == token && $0.heldSince != 0 })
            else { return }
            state.counting.forget(&state.records[place].leases[index])
        }
    }

    func countLost(_ name: LockName, token: LeaseToken, at now: UInt64) {
        let nowMs = WallClock.milliseconds()
        state.withLock { state in
            // Only one that ran out: a live lease of the token is a later
            // grant's (the same client token acquired again since the miss).
            guard let place = state.records.place(of: name),
                  let index = state.records[place].leases.firstIndex(where: {
                      $0.token == token && $0.heldSince != 0 && $0.expiresAtMs <= nowMs
                  })
            else { return }
            // Stays in the record until a drop or sweep removes it, which
            // then finds it no longer counted.
            state.counting.ranOut(&state.records[place].leases[index], now: now)
            state.counting.tellExpired()
        }
    }

    /// Reads every record's ``InMemoryLockRecord/countedDueMs`` (in order,
    /// where they are stored), and the leases of those past it only.
    func countExpiredLeases(now: UInt64) {
        let nowMs = WallClock.milliseconds()
        let (held, handles) = state.withLock { state in
            var counting = InMemoryLeaseCounting()
            swap(&counting, &state.counting)
            state.records.updateEach { record in
                guard record.countedDueMs <= nowMs else { return }
                record.countRanOut(dueBy: now, counting: &counting)
            }
            counting.tellExpired()
            swap(&counting, &state.counting)
            return (state.counting.held, state.counting.handles)
        }
        handles?.held.record(held)
    }

    var countedLeases: Int { state.withLock { $0.counting.held } }

    // MARK: Events

    public var mayHaveEventWatchers: Bool { watched.load(ordering: .relaxed) }

    /// How many names have a record: held, queued, in a lock delay, or
    /// expired and not swept yet (tests read it).
    var recordCount: Int { state.withLock { $0.records.count } }

    /// How many records the table has room for now (tests read it).
    var recordCapacity: Int { state.withLock { $0.records.capacity } }

    /// How many emptied lease arrays the sweeps keep for fresh records (tests read it).
    var sweptLeaseCount: Int { state.withLock { $0.sweptLeases.count } }

    /// One process: the event goes straight to this process's watchers.
    public func publish(_ event: LockEvent) {
        guard watched.load(ordering: .relaxed), let handler = state.withLock({ $0.wakeHandler }) else { return }
        handler(.lock(event))
    }

    public func setEventInterest(_ interested: Bool) {
        watched.store(interested, ordering: .relaxed)
    }

    /// Returns once ``deliverEvents(to:)`` has installed the engine's
    /// handler (at once, but for the first moments of `LockEngine.run()`):
    /// an event published before is dropped, so a watch that started then
    /// would miss what follows its start. After `timeout` at the latest.
    public func waitForEvents(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while state.withLock({ $0.wakeHandler == nil }), !Task.isCancelled, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    public func status(of name: LockName) async throws(LockError) -> LockStatus {
        let now = WallClock.milliseconds()
        return state.withLock { state in
            guard let place = state.records.place(of: name) else { return LockStatus(name: name, holders: []) }
            var record = state.records[place]
            record.dropExpired(now: now)
            return Self.status(of: name, record, now: now)
        }
    }

    private static func status(of name: LockName, _ record: Record, now: Int64) -> LockStatus {
        LockStatus(name: name, holders: record.holders(now: now), limit: record.isEmpty ? 1 : record.limit, waiting: record.queue.count,
                   delayedUntilMs: record.delayedUntil(now: now))
    }

    public func list(prefix: String, limit: Int, cursor: String?) async throws(LockError) -> LockPage {
        let after = try cursor.map { (text: String) throws(LockError) in try ListCursor.decode(text).after } ?? ""
        let now = WallClock.milliseconds()
        return state.withLock { state in
            var held: [(name: LockName, record: Record)] = []
            state.records.forEach { name, record in
                guard record.leases.contains(where: { $0.expiresAtMs > now }), name.value.hasPrefix(prefix),
                      after.utf8.lexicographicallyPrecedes(name.value.utf8) else { return }
                held.append((name, record))
            }
            held.sort { $0.name < $1.name }
            let page = held.prefix(limit).map { name, record in
                var record = record
                record.dropExpired(now: now)
                return Self.status(of: name, record, now: now)
            }
            let next = held.count > limit ? page.last.map { ListCursor(scan: 0, after: $0.name.value).encoded } : nil
            return LockPage(locks: page, nextCursor: next)
        }
    }

    public func removeWaiter(_ waiter: WaiterID, from name: LockName, reclaimingGrant: Bool) async throws(LockError) {
        let now = WallClock.milliseconds()
        let (queued, notice) = state.withLock { state -> (Bool, Notice?) in
            guard let place = state.records.place(of: name),
                  let index = state.records[place].queue.firstIndex(of: waiter) else { return (false, nil) }
            state.records[place].unqueue(at: index)
            state.records[place].dropExpired(now: now, counting: &state.counting)
            // Only a waiter that stood in the run, or stopped it, held others
            // back. (Not so, it leaves others queued: the record stays.)
            guard index <= state.records[place].admissible().run.count else { return (true, nil) }
            return (true, state.handOver(at: place, name: name))
        }
        Self.tell(consume notice)
        // Not queued: a hand-over may have granted it a lease it will not
        // collect, which ends as if released.
        if !queued, reclaimingGrant { _ = end(name, forced: false, where: { $0.handedTo == waiter }, reporting: { _, _ in }) }
    }

    /// One process: a waiter leaves the queue as soon as its caller goes,
    /// so nothing needs keeping alive, and nothing is ever forgotten.
    public func beat(names: Set<LockName>) async throws(LockError) -> Bool { true }

    public func reconcile(_ queues: [LocalQueue]) async throws(LockError) -> [QueueRepair] {
        let now = WallClock.milliseconds()
        return state.withLock { state in
            queues.map { queue in
                var record = state.records.place(of: queue.name).map { state.records[$0] } ?? Record()
                // Stored back below (it replaces the record it copies): counted once.
                record.dropExpired(now: now, counting: &state.counting)
                // Granted already by a hand-over (its notice missed): it
                // collects its lease, and takes no place.
                let handed = record.handed(among: queue.waiters)
                let waiters = handed.isEmpty ? queue.waiters : queue.waiters.filter { !handed.contains($0) }
                if record.isEmpty, let first = waiters.first { record.limit = first.limit }
                var restored = 0
                if let missing = waiters.firstIndex(where: { !record.queue.contains($0) }) {
                    // From the first missing one on, all go to the tail in order.
                    let moved = Array(waiters[missing...])
                    record.queue.removeAll { moved.contains($0) }
                    record.queue.append(contentsOf: moved)
                    restored = moved.count
                }
                state.store(record, for: queue.name)
                var hint = record.hint(now: now)
                hint.wake = queue.waiters.filter(handed.contains) + hint.wake
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
}

extension InMemoryLockStore.State {
    /// ``InMemoryLockStore/acquireAtOnce(_:)`` on the name's record, changed
    /// where it is stored: one hash of the name (looked up, then stored
    /// back, the record was hashed twice and its arrays copied).
    fileprivate mutating func acquire<Attempt: AttemptTerms>(_ attempt: Attempt, micros: Int64,
                                      countingFrom heldSince: UInt64) -> (Result<AcquireResult, LockError>, InMemoryLockStore.Notice?) {
        let now = micros / 1_000
        // A fence granted below is then at least the reading (``nextFence(after:)``).
        lastFence = max(lastFence, micros - 1)
        sweepIfDue(now: now)
        let place = records.placeAdding(attempt.name)
        let (result, wakes, isEmpty) = records[place]
            .acquire(attempt, lastFence: &lastFence, spare: &spareLeases, now: now, handsOver: wakeHandler != nil,
                     countingFrom: heldSince, counting: &counting)
        // A fresh record took the spare: the next one is a swept array, if
        // any, emptied now (``sweptLeases``) — unless a crowd's (a
        // semaphore's, readers') array, or none (a reconciled record's).
        if spareLeases.capacity == 0, var swept = sweptLeases.popLast(), (1...4).contains(swept.capacity) {
            // Most held one lease: `removeLast` destroys it in place, where
            // `removeAll(keepingCapacity:)` went through the generic
            // `replaceSubrange` (~0.2 k instructions a fresh name).
            if swept.count == 1 {
                swept.removeLast()
            } else {
                swept.removeAll(keepingCapacity: true)
            }
            spareLeases = swept
        }
        // Never so after an acquire (it holds or queues something), but a
        // record is kept only while it holds or queues.
        if isEmpty {
            records.remove(at: place)
            return (result, nil)
        }
        guard wakes else { return (result, nil) }
        return (result, handOver(at: place, name: attempt.name))
    }

    /// Hands the name at `place` on to the waiters that fit now
    /// (``InMemoryLockRecord/handOver(now:lastFence:grantedBefore:)``) and
    /// says what this process's waiters must hear — while the engine
    /// listens: a grant nobody hears of would stay held by nobody for its
    /// TTL (Redis's release script, likewise, grants only a lockd that
    /// listens). Drops the record when it holds and queues nothing.
    fileprivate mutating func handOver(at place: Int, name: LockName) -> InMemoryLockStore.Notice? {
        guard !records[place].queue.isEmpty else {
            if records[place].isEmpty { vacate(at: place) }
            return nil
        }
        guard let wakeHandler else { return nil }
        // The clocks read here, under the lock, the monotonic one first: a
        // grant's deliver-by deadline then never starts after its lease does
        // (the caller's earlier reading was older by the wait for the lock).
        // The lease counts from the whole millisecond: the monotonic instant
        // goes back as far.
        let monotonic = MonotonicClock.now()
        let micros = WallClock.microseconds()
        let belowMs = UInt64(max(0, micros % 1_000)) * 1_000
        let grantedBefore = monotonic > belowMs ? monotonic - belowMs : 0
        let hint = records[place].handOver(now: micros / 1_000, lastFence: &lastFence, grantedBefore: grantedBefore)
        return InMemoryLockStore.Notice(.wakeup(Wakeup(name: name, hint: hint)), handler: wakeHandler)
    }

    /// Drops the record at `place`, which holds and queues nothing.
    fileprivate mutating func vacate(at place: Int) {
        let leases = records.remove(at: place)
        // Kept for the next free name's record, unless a crowd's (a
        // semaphore's, readers') array, or none (a record a
        // reconcile made): a good spare is not swapped for nothing.
        if (1...4).contains(leases.capacity) { spareLeases = leases }
    }

    /// Keeps a record only while it holds a lease or a queue.
    fileprivate mutating func store(_ record: InMemoryLockStore.Record, for name: LockName) {
        if !record.isEmpty {
            records[records.placeAdding(name)] = record
        } else if let place = records.place(of: name) {
            records.remove(at: place)
        }
    }

    /// What this process's waiters on the name must hear after the name or
    /// its queue changed: who takes it now, when the rest look again.
    fileprivate func notice(for name: LockName, _ record: InMemoryLockStore.Record, now: Int64) -> InMemoryLockStore.Notice? {
        guard !record.queue.isEmpty, let wakeHandler else { return nil }
        return InMemoryLockStore.Notice(.wakeup(Wakeup(name: name, hint: record.hint(now: now))), handler: wakeHandler)
    }

    /// Drops expired leases now and then, so names used once do not stay in
    /// memory forever. A sweep reads every record, so it waits for as many
    /// operations as the last sweep left records (4 096 at least): about two
    /// record reads per operation, however many names are held, while the
    /// records at most double between sweeps. (Counted against the records
    /// there are now, an operation on a fresh name grew both sides alike:
    /// with names used once, no sweep ever came again and memory grew
    /// without bound.)
    /// (The count checked where it is called: as a call of its own, ~20
    /// instructions an acquire.)
    @inline(__always)
    fileprivate mutating func sweepIfDue(now: Int64) {
        operationsSinceSweep += 1
        guard operationsSinceSweep >= operationsBeforeSweep else { return }
        operationsSinceSweep = 0
        sweep(now: now)
    }

    /// Drops the records that hold and queue nothing any more (``sweepIfDue(now:)``).
    @inline(never)
    private mutating func sweep(now: Int64) {
        emptiedSinceSweep = 0
        // The ended records removed where they are, each read once in its
        // place (``InMemoryRecordTable/removeAll(where:handing:)``): listed
        // by name and removed by name, each ended name was retained, hashed
        // and found again, and the names a removal moved rehashed. Filtered
        // into a table of their own (as it once was), the kept records were
        // each copied and the table regrown: in a table of 10^5 names, cache
        // misses and allocator work of ~4% of lockd's CPU.
        // A record past ``InMemoryLockRecord/keptUntilMs`` with no queue
        // holds no slot (no lease's, lock delays counted): decided without
        // reading its leases.
        // Lease arrays kept for fresh records: as many as the interval just
        // run could take (the next one's, known only after the pass, trims
        // them).
        let keeps = max(InMemoryLockStore.minimumSweepInterval, operationsBeforeSweep)
        // Out of the state while the table is changed (one access to each).
        var swept: [[InMemoryLockStore.Record.StoredLease]] = []
        swap(&swept, &sweptLeases)
        var counting = InMemoryLeaseCounting()
        swap(&counting, &self.counting)
        records.removeAll { record in
            record.keptUntilMs <= now && record.queue.isEmpty
        } handing: { record in
            // Its slots all ended: a counted lease in it ran out.
            record.countAllRanOut(counting: &counting)
            // Kept as it is, for a fresh record (emptied as it is taken).
            guard swept.count < keeps else { return }
            var leases: [InMemoryLockStore.Record.StoredLease] = []
            swap(&leases, &record.leases)
            swept.append(leases)
        }
        swap(&swept, &sweptLeases)
        counting.tellExpired()
        swap(&counting, &self.counting)
        let nextInterval = max(InMemoryLockStore.minimumSweepInterval, records.count)
        // Fewer acquires before the next sweep: fewer arrays they could use.
        if sweptLeases.count > nextInterval { sweptLeases.removeLast(sweptLeases.count - nextInterval) }
        // A table never shrinks as names leave it: after a burst of fresh
        // names it would stay at the burst's size for good. Rebuilt at the
        // kept size once four times larger than it needs: a whole-table
        // copy only after such a burst.
        records.shrinkIfOversized(atLeast: InMemoryLockStore.minimumSweepInterval)
        operationsBeforeSweep = nextInterval
    }
}

extension InMemoryLockStore {
    /// Strictly greater than every fence before, for every name: one counter
    /// that never falls behind the wall clock in microseconds (an acquire
    /// first raises it to its clock reading), so a restarted process still
    /// issues larger fences without remembering old ones.
    static func nextFence(after lastFence: inout Int64) -> Int64 {
        lastFence += 1
        return lastFence
    }
}

extension InMemoryLockRecord {
    /// Tries `attempt` on this record (its rules: ``InMemoryLockStore/acquire(_:)``);
    /// `wakes` when the waiters must hear of the change, `isEmpty` when the
    /// record holds and queues nothing after it.
    /// `handsOver`: the engine listens, so a grant at the queue's head
    /// hands the name on to the waiters behind it (``wakes``), rather
    /// than waking them in its reply's hint. `spare`: an empty array for
    /// the leases of a record that has none (``InMemoryLockStore/State/spareLeases``).
    /// `heldSince`, `counting`: see ``LeaseCountingStore/acquireAtOnce(_:countingFrom:)``.
    fileprivate mutating func acquire<Attempt: AttemptTerms>(_ attempt: Attempt, lastFence: inout Int64, spare: inout [StoredLease],
                                      now: Int64, handsOver: Bool, countingFrom heldSince: UInt64, counting: inout InMemoryLeaseCounting)
        -> (result: Result<AcquireResult, LockError>, wakes: Bool, isEmpty: Bool) {
        dropExpired(now: now, counting: &counting)
        let (result, wakes) = take(attempt, lastFence: &lastFence, spare: &spare, now: now, handsOver: handsOver,
                                   countingFrom: heldSince, counting: &counting)
        return (result, wakes, isEmpty)
    }

    private mutating func take<Attempt: AttemptTerms>(_ attempt: Attempt, lastFence: inout Int64, spare: inout [StoredLease],
                               now: Int64, handsOver: Bool, countingFrom heldSince: UInt64,
                               counting: inout InMemoryLeaseCounting) -> (Result<AcquireResult, LockError>, Bool) {
        // Nothing held, nothing queued (a fresh name, most acquires): no
        // lease to retry, no one ahead, so granted at once — the checks
        // below (the queue searched, the token, the run of waiters ahead
        // made) would all find so (~0.1 k instructions).
        if isEmpty {
            limit = attempt.limit
            return grant(attempt, at: nil, lastFence: &lastFence, spare: &spare, now: now, handsOver: handsOver,
                         countingFrom: heldSince, counting: &counting)
        }
        guard limit == attempt.limit else { return (.failure(.limitMismatch(limit: limit)), false) }
        let place = attempt.waiter.flatMap { queue.firstIndex(of: $0) }
        let own = leases.firstIndex { $0.token == attempt.token }
        // Expired, its slot kept through its lock delay: neither a lease
        // to retry nor a token to grant again until then.
        let lapsed = own.map { !leases[$0].isLive(now: now) } ?? false
        if let held = own, !lapsed, leases[held].mode == attempt.mode {
            let before = leases[held].expiresAtMs
            leases[held].ttlMs = attempt.ttlMs
            leases[held].expiresAtMs = now + attempt.ttlMs
            keepSlot(of: leases[held])
            // A waiter collecting what a hand-over granted it: the grant is
            // now its attempt's. Anyone else asking with the token claims
            // the lease: it is no grant to give back.
            let collects = attempt.waiter != nil && leases[held].handedTo == attempt.waiter
            if !collects {
                leases[held].claimed = true
            } else if let nonce = attempt.nonce {
                leases[held].nonce = nonce
            }
            leases[held].handedTo = nil
            if heldSince != 0 {
                // Counted: it runs to its new TTL (the ledger's retry). Not
                // counted, under lockd's own token: an earlier attempt's
                // grant that never reached the client, new to it now.
                if leases[held].heldSince != 0 {
                    InMemoryLeaseCounting.extend(&leases[held], from: heldSince)
                    countedDueMs = min(countedDueMs, leases[held].expiresAtMs)
                } else if attempt.nonce == nil {
                    counting.start(&leases[held], at: heldSince)
                    countedDueMs = min(countedDueMs, leases[held].expiresAtMs)
                }
            }
            // Retried down, as renewed down: the waiters look again at the
            // new expiry, not at the old one they were told.
            var wakes = leases[held].expiresAtMs < before
            if let place {
                unqueue(at: place)
                wakes = wakes || place <= admissible().run.count
            }
            return (.success(.granted(lease(leases[held], name: attempt.name), isRetry: !collects)), wakes)
        }
        if own != nil, !lapsed {
            // No upgrade (or downgrade): waiting could not help while it holds.
            return (.failure(.lockHeld(holders: holders(now: now), retryAfterMs: retryAfter(for: attempt.mode, now: now))), false)
        }
        guard !lapsed, admits(attempt.waiter, mode: attempt.mode) else {
            if let waiter = attempt.waiter {
                if place == nil { queue.append(waiter) }
                // What a hand-over grants it — unless a replica must confirm
                // its grant first (refused here, but as on Redis).
                if attempt.durability == .primary { wishes[waiter] = Wish(attempt) }
            }
            return (.success(.held(holders: holders(now: now), retryAfterMs: retryAfter(for: attempt.mode, now: now),
                                   hint: hint(now: now, except: attempt.waiter))), false)
        }
        return grant(attempt, at: place, lastFence: &lastFence, spare: &spare, now: now, handsOver: handsOver,
                     countingFrom: heldSince, counting: &counting)
    }

    /// Grants `attempt` a new lease (it may take the name now); `place`:
    /// its waiter's place in the queue, if queued.
    private mutating func grant<Attempt: AttemptTerms>(_ attempt: Attempt, at place: Int?, lastFence: inout Int64, spare: inout [StoredLease],
                                now: Int64, handsOver: Bool, countingFrom heldSince: UInt64,
                                counting: inout InMemoryLeaseCounting) -> (Result<AcquireResult, LockError>, Bool) {
        if let place { unqueue(at: place) }
        var lease = StoredLease(
            token: attempt.token, fence: InMemoryLockStore.nextFence(after: &lastFence), ttlMs: attempt.ttlMs,
            expiresAtMs: now + attempt.ttlMs, owner: attempt.owner, mode: attempt.mode,
            client: attempt.client, delayMs: attempt.lockDelayMs, nonce: attempt.nonce
        )
        // The answer's lease made first, so that the stored one is moved in, not copied.
        let granted = self.lease(lease, name: attempt.name)
        keepSlot(of: lease)
        if heldSince != 0 {
            counting.start(&lease, at: heldSince)
            countedDueMs = min(countedDueMs, lease.expiresAtMs)
        }
        // A record made for a free name has no array yet: it takes the
        // spare, or (none spare) one made as a literal of its one lease —
        // appended to the empty array, it was allocated by the append's
        // growth path (~0.35 k instructions a fresh name, twice the literal's).
        if leases.capacity == 0 { swap(&leases, &spare) }
        if leases.capacity == 0 {
            leases = [consume lease]
        } else {
            leases.append(consume lease)
        }
        // The waiters behind learn when to look again (an expiry tells no
        // one); when the head goes, the ones that fit too are handed the
        // name (or, with no engine listening, woken by this reply).
        if place == 0, handsOver { return (.success(.granted(granted, isRetry: false)), true) }
        let hint = place == 0 ? hint(now: now) : .none
        return (.success(.granted(granted, isRetry: false, hint: hint)), false)
    }

    /// What a record holds after a lease ended: the store hands the name
    /// on, keeps the record, or drops it. Told by ``end(forced:now:where:reporting:)``,
    /// which has the record in place: read through the table afterwards
    /// (`records.values[place]`), the record was copied, its arrays and
    /// table retained and released, twice a release (~0.3 k instructions).
    enum Remainder {
        case queue, leases, nothing
    }

    /// Ends the live lease that `matches`: what `report` says of it (as it
    /// was when it ended), and what the record holds now; nil when none matches.
    /// `forced`: a lease with a lock delay ends as if it expired now.
    /// A counted lease's end is counted (`counting`) at `monotonic`: a
    /// release's or give-back's hold, a forced one as lost.
    fileprivate mutating func end<Ended>(forced: Bool, now: Int64, monotonic: UInt64, where matches: (StoredLease) -> Bool,
                                         reporting report: (StoredLease, _ now: Int64) -> Ended,
                                         counting: inout InMemoryLeaseCounting) -> (Ended, Remainder)? {
        guard let index = leases.firstIndex(where: { matches($0) && $0.expiresAtMs > now }) else { return nil }
        let ended = report(leases[index], now)
        let heldSince = leases[index].heldSince
        if heldSince != 0 {
            if forced {
                counting.ranOut(&leases[index], now: monotonic)
                counting.tellExpired()
            } else {
                counting.released(heldSince: heldSince, now: monotonic)
            }
        }
        if forced, leases[index].delayMs > 0 {
            leases[index].expiresAtMs = now
            // A slot now, no lease for a waiter to collect.
            leases[index].handedTo = nil
        } else {
            leases.remove(at: index)
        }
        dropExpired(now: now, counting: &counting)
        if leases.isEmpty { countedDueMs = .max }
        return (ended, !queue.isEmpty ? .queue : leases.isEmpty ? .nothing : .leases)
    }
}
