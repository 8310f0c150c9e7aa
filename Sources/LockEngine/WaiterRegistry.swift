import LockdTransport
import Synchronization

/// Why a parked waiter resumed.
enum WakeReason: Sendable, Equatable {
    /// The store said to try again (a release, or the waiter reached the head).
    case woken
    /// The store granted the waiter its lease (a release handed the name on).
    case granted(HandedGrant)
    /// It is this process's first waiter on its name, and due to look again:
    /// the lease may have expired, or the queue's head may be gone.
    case recheck
    /// A timer fired: the wait's deadline, or the end of an outage's grace.
    case timer
    /// Its task was cancelled: the client went away.
    case cancelled
    /// lockd is shutting down.
    case shutdown
}

/// This process's waiting acquires: where wake-ups, timers and cancellation
/// meet the task that waits.
///
/// A wake-up that arrives while its waiter is between attempts (talking to
/// the store) is remembered, so the next `park` returns at once and no
/// release is missed. Per name it also keeps one *recheck*: when the first
/// of this process's waiters on the name must try again if nothing wakes it
/// sooner (the holder's lease expires silently; a queue head whose lockd
/// died never takes the lock).
final class WaiterRegistry: Sendable {
    private struct Entry {
        var name: LockName
        /// Arrival order in this process.
        var order: UInt64
        /// The wait's deadline (monotonic nanoseconds).
        var deadline: UInt64
        /// The parked task's continuation, boxed (see ``Parked``).
        var continuation: Parked?
        /// A wake-up that came between parks, for the next park.
        var pendingWake: WakeReason?
        var deadlinePassed = false
        /// Whether the deadline is among ``State/deadlines`` (from the
        /// first park: most waits on a free lock never park).
        var deadlineTimerSet = false
        /// Parked until an outage's grace ends, or the store is back.
        var parkedForOutage = false
        /// Tells this park's outage timer from older ones still scheduled.
        var generation: UInt64 = 0
    }

    /// A parked task's continuation in a box of its own. `CheckedContinuation`
    /// is resilient (its layout is the concurrency library's), so an
    /// ``Entry`` holding one inline had no fixed layout: every add, copy,
    /// store and removal of an entry went through its value witnesses and
    /// metadata (~0.35 k instructions a waiting acquire, most of which never
    /// park). Held by reference, an entry is plain data; a box is made
    /// only when a task parks. Still the checked continuation: a resume
    /// twice, or none, is caught as before.
    final class Parked: Sendable {
        private let continuation: CheckedContinuation<WakeReason, Never>

        init(_ continuation: CheckedContinuation<WakeReason, Never>) {
            self.continuation = continuation
        }

        func resume(returning reason: WakeReason) {
            continuation.resume(returning: reason)
        }
    }

    private struct NameState {
        /// This process's waiters on the name.
        var count = 0
        /// When the first waiter must look again (monotonic nanoseconds).
        var recheckAt: UInt64?
        /// The earliest recheck timer scheduled, and its generation.
        var timer: (at: UInt64, generation: UInt64)?
    }

    private struct State {
        var entries: [WaiterKey: Entry] = [:]
        var names: [LockName: NameState] = [:]
        var nextOrder: UInt64 = 0
        var nextTimerGeneration: UInt64 = 0
        var isShuttingDown = false
        /// The parked waiters' deadlines, and when the one timer that
        /// serves them all is set to fire (nil: none is set).
        var deadlines = DeadlineHeap()
        var deadlineTimerAt: UInt64?
    }

    private let state = Mutex(State())
    private let loops: EventLoopGroup

    init(loops: EventLoopGroup) {
        self.loops = loops
    }

    /// Registers a waiter before its first attempt.
    /// - Parameter deadline: when its wait ends (monotonic nanoseconds).
    /// - Returns: how many waiters there are now, this one counted (for
    ///   the gauge, read under the same lock: asked after, ``count`` took
    ///   it again); nil when shutting down (not registered).
    func add(_ waiter: WaiterID, name: LockName, deadline: UInt64) -> Int? {
        state.withLock { state -> Int? in
            guard !state.isShuttingDown else { return nil }
            state.nextOrder += 1
            state.entries[WaiterKey(waiter)] = Entry(name: name, order: state.nextOrder, deadline: deadline)
            state.names[name, default: NameState()].count += 1
            return state.entries.count
        }
    }

    /// Forgets a waiter (granted, timed out, cancelled or failed).
    /// - Returns: how many waiters are left (as ``add(_:name:deadline:)``'s count).
    @discardableResult
    func remove(_ waiter: WaiterID) -> Int {
        let (continuation, left) = state.withLock { state -> (Parked?, Int) in
            guard let entry = state.entries.removeValue(forKey: WaiterKey(waiter)) else { return (nil, state.entries.count) }
            // One lookup of the name, not three.
            if let index = state.names.index(forKey: entry.name) {
                state.names.values[index].count -= 1
                if state.names.values[index].count == 0 { state.names.remove(at: index) }
            }
            return (entry.continuation, state.entries.count)
        }
        continuation?.resume(returning: .cancelled)
        return left
    }

    /// Parks the calling task until `waiter` is woken, its deadline (or
    /// `outageUntil`) passes, its task is cancelled, or lockd shuts down.
    /// - Parameter outageUntil: set when the store just failed: the end of
    ///   the outage's grace (monotonic nanoseconds); ``wakeOutageParked()``
    ///   ends the park sooner when the store is back.
    func park(_ waiter: WaiterID, outageUntil: UInt64? = nil) async -> WakeReason {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WakeReason, Never>) in
                let (immediate, generation, deadlineTimer) = state.withLock { state -> (WakeReason?, UInt64, UInt64?) in
                    if state.isShuttingDown { return (.shutdown, 0, nil) }
                    if Task.isCancelled { return (.cancelled, 0, nil) }
                    guard var entry = state.entries[WaiterKey(waiter)] else { return (.cancelled, 0, nil) }
                    if let pending = entry.pendingWake {
                        entry.pendingWake = nil
                        state.entries[WaiterKey(waiter)] = entry
                        return (pending, 0, nil)
                    }
                    if entry.deadlinePassed { return (.timer, 0, nil) }
                    entry.generation &+= 1
                    entry.continuation = Parked(continuation)
                    entry.parkedForOutage = outageUntil != nil
                    var deadlineTimer: UInt64?
                    if !entry.deadlineTimerSet {
                        entry.deadlineTimerSet = true
                        state.deadlines.insert(.init(at: entry.deadline, order: entry.order, waiter: waiter))
                        // One timer serves every deadline: set only when this
                        // one comes before the one it is set for.
                        if entry.deadline < state.deadlineTimerAt ?? .max {
                            state.deadlineTimerAt = entry.deadline
                            deadlineTimer = entry.deadline
                        }
                    }
                    state.entries[WaiterKey(waiter)] = entry
                    return (nil, entry.generation, deadlineTimer)
                }
                if let deadlineTimer {
                    schedule(at: deadlineTimer) { [self] in deadlinesDue() }
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                } else if let outageUntil {
                    schedule(at: outageUntil) { [self] in
                        resume(waiter, with: .timer) { $0.generation == generation }
                    }
                }
            }
        } onCancel: {
            resume(waiter, with: .cancelled) { _ in true }
        }
    }

    /// Wakes `waiter` if it is parked, or makes its next park return at once.
    /// - Returns: false when no such waiter is registered.
    @discardableResult
    func wake(_ waiter: WaiterID, as reason: WakeReason = .woken) -> Bool {
        let (known, continuation) = state.withLock { state -> (Bool, Parked?) in
            guard var entry = state.entries[WaiterKey(waiter)] else { return (false, nil) }
            guard let continuation = entry.continuation else {
                // A grant is never overwritten (the waiter must deliver it
                // or give it back), nor a recheck by a plain wake.
                switch entry.pendingWake {
                case .granted?: break
                case .recheck?: if case .granted = reason { entry.pendingWake = reason }
                default: entry.pendingWake = reason
                }
                state.entries[WaiterKey(waiter)] = entry
                return (true, nil)
            }
            entry.continuation = nil
            state.entries[WaiterKey(waiter)] = entry
            return (true, continuation)
        }
        continuation?.resume(returning: reason)
        return known
    }

    /// Wakes every waiter (parked now or between attempts) to try again:
    /// used when the store has been gone too long, so each learns it from
    /// its own next attempt instead of sleeping out its whole wait.
    func wakeAll() {
        wakeEach { _ in true }
    }

    /// Wakes the waiters parked because the store failed: it is back.
    func wakeOutageParked() {
        wakeEach { $0.parkedForOutage }
    }

    private func wakeEach(where matches: (Entry) -> Bool) {
        let continuations = state.withLock { state -> [Parked] in
            var parked: [Parked] = []
            for (key, entry) in state.entries where matches(entry) {
                if let continuation = entry.continuation {
                    parked.append(continuation)
                    state.entries[key]?.continuation = nil
                } else if state.entries[key]?.pendingWake == nil {
                    state.entries[key]?.pendingWake = .woken
                }
            }
            return parked
        }
        for continuation in continuations { continuation.resume(returning: .woken) }
    }

    // MARK: Rechecks

    /// Has this process's first waiter on `name` try again after `afterMs`
    /// unless it is woken sooner.
    /// - Parameter replacing: the store's latest word on the name: it
    ///   replaces the pending recheck. Otherwise (a hint that may be stale)
    ///   it only brings the recheck forward.
    func recheck(_ name: LockName, afterMs: Int64, replacing: Bool) {
        // A little late rather than early: the store's clock decides.
        let at = MonotonicClock.now() + UInt64(max(0, afterMs) + 2) * 1_000_000
        let timer = state.withLock { state -> (at: UInt64, generation: UInt64)? in
            guard var names = state.names[name] else { return nil }
            if !replacing, let current = names.recheckAt, current <= at { return nil }
            names.recheckAt = at
            defer { state.names[name] = names }
            // A timer due sooner looks at `recheckAt` when it fires.
            if let scheduled = names.timer, scheduled.at <= at { return nil }
            state.nextTimerGeneration += 1
            names.timer = (at, state.nextTimerGeneration)
            return names.timer
        }
        if let timer { scheduleRecheck(name, timer) }
    }

    private func scheduleRecheck(_ name: LockName, _ timer: (at: UInt64, generation: UInt64)) {
        schedule(at: timer.at) { [self] in recheckDue(name, generation: timer.generation) }
    }

    private func recheckDue(_ name: LockName, generation: UInt64) {
        let now = MonotonicClock.now()
        let (first, later) = state.withLock { state -> (WaiterID?, (at: UInt64, generation: UInt64)?) in
            guard var names = state.names[name], names.timer?.generation == generation else { return (nil, nil) }
            defer { state.names[name] = names }
            names.timer = nil
            guard let at = names.recheckAt else { return (nil, nil) }
            if at > now + 1_000_000 {
                state.nextTimerGeneration += 1
                names.timer = (at, state.nextTimerGeneration)
                return (nil, names.timer)
            }
            names.recheckAt = nil
            // A scan, but rechecks are rare (a lease that ran out, a dead
            // head), and a set of waiters per name would cost every waiter.
            var first: (waiter: WaiterID, order: UInt64)?
            for (key, entry) in state.entries where entry.name == name && entry.order < first?.order ?? .max {
                first = (key.waiter, entry.order)
            }
            return (first?.waiter, nil)
        }
        if let first { wake(first, as: .recheck) }
        if let later { scheduleRecheck(name, later) }
    }

    // MARK: Views for the store

    /// Names this process has waiters on.
    var names: Set<LockName> { state.withLock { Set($0.names.keys) } }

    /// Parked waiters by name, oldest first: those the store must hold.
    /// (A waiter between attempts rejoins the queue by itself.)
    /// - Parameter firstOnly: only each name's oldest parked waiter, to check
    ///   cheaply that the store still holds the queue.
    func parkedQueues(firstOnly: Bool = false, names only: Set<LockName>? = nil) -> [LocalQueue] {
        let now = MonotonicClock.now()
        return state.withLock { state in
            var parked: [LockName: [(waiter: WaiterID, entry: Entry)]] = [:]
            for (key, entry) in state.entries where entry.continuation != nil && only?.contains(entry.name) ?? true {
                parked[entry.name, default: []].append((key.waiter, entry))
            }
            return parked.map { name, waiters in
                var waiters = waiters.sorted { $0.entry.order < $1.entry.order }
                if firstOnly { waiters = [waiters[0]] }
                let longest = waiters.map(\.entry.deadline).max() ?? now
                return LocalQueue(name: name, waiters: waiters.map(\.waiter),
                                  waitMs: Int64((longest > now ? longest - now : 0) / 1_000_000))
            }
        }
    }

    /// How many acquires are waiting now.
    var count: Int { state.withLock { $0.entries.count } }

    /// Refuses new waiters and resumes every parked one with `.shutdown`.
    func shutDown() {
        let continuations = state.withLock { state -> [Parked] in
            state.isShuttingDown = true
            var parked: [Parked] = []
            for key in state.entries.keys {
                if let continuation = state.entries[key]?.continuation {
                    parked.append(continuation)
                    state.entries[key]?.continuation = nil
                }
            }
            return parked
        }
        for continuation in continuations { continuation.resume(returning: .shutdown) }
    }

    /// Whether shutdown has begun.
    var isShuttingDown: Bool { state.withLock { $0.isShuttingDown } }

    // MARK: Timers

    /// The deadlines' timer fired: the waiters whose deadline passed end
    /// their park (or their next one), and the timer is set for the next
    /// deadline of a waiter still here.
    private func deadlinesDue() {
        let now = MonotonicClock.now()
        let (passed, next) = state.withLock { state -> ([Parked], UInt64?) in
            var passed: [Parked] = []
            while let first = state.deadlines.first, first.at <= now {
                state.deadlines.removeFirst()
                guard var entry = state.entries[WaiterKey(first.waiter)], entry.order == first.order else { continue }
                entry.deadlinePassed = true
                if let continuation = entry.continuation { passed.append(continuation) }
                entry.continuation = nil
                state.entries[WaiterKey(first.waiter)] = entry
            }
            // Deadlines of waiters that left need no timer.
            while let first = state.deadlines.first, state.entries[WaiterKey(first.waiter)]?.order != first.order {
                state.deadlines.removeFirst()
            }
            // A timer set for a sooner deadline than this one's is still due.
            if let armed = state.deadlineTimerAt, armed > now { return (passed, nil) }
            state.deadlineTimerAt = state.deadlines.first?.at
            return (passed, state.deadlineTimerAt)
        }
        for continuation in passed { continuation.resume(returning: .timer) }
        if let next { schedule(at: next) { [self] in deadlinesDue() } }
    }

    /// Resumes `waiter` with `reason` if it is parked and `matches` its entry.
    private func resume(_ waiter: WaiterID, with reason: WakeReason, if matches: (Entry) -> Bool) {
        let continuation = state.withLock { state -> Parked? in
            guard var entry = state.entries[WaiterKey(waiter)], let continuation = entry.continuation, matches(entry) else { return nil }
            entry.continuation = nil
            state.entries[WaiterKey(waiter)] = entry
            return continuation
        }
        continuation?.resume(returning: reason)
    }

    /// Runs `work` on a loop at `deadline` (monotonic nanoseconds).
    private func schedule(at deadline: UInt64, _ work: @escaping @Sendable () -> Void) {
        let loop = loops.currentOrNext()
        let now = MonotonicClock.now()
        let delay = Duration.nanoseconds(Int64(clamping: deadline > now ? deadline - now : 0))
        if loop.inEventLoop {
            loop.scheduleTimer(after: delay, work)
        } else {
            loop.execute { loop.scheduleTimer(after: delay, work) }
        }
    }
}
