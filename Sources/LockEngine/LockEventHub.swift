import LockdTransport
import Synchronization

/// This process's event watchers (the open `GET /events` streams) and what
/// they need: each event the store delivers, numbered and handed to the
/// watchers whose prefix and readable names cover it, and a timer per
/// watched lease so that its expiry — which nothing announces — is
/// reported (see ``LockEngine/watchExpiries()``).
///
/// ```swift
/// let id = hub.watch(prefix: "orders:", within: .all) { event in stream.send(event) }
/// hub.unwatch(id)
/// ```
public final class LockEventHub: Sendable {
    /// An event as one watcher receives it: numbered in this process's order.
    public struct Delivery: Sendable {
        /// Increases by one per event this process delivers (the SSE `id:`).
        public var sequence: UInt64
        /// The event.
        public var event: LockEvent
    }

    /// Receives one event; answers false once it wants no more.
    public typealias Sink = @Sendable (Delivery) -> Bool

    struct Watcher {
        var prefix: String
        var names: LockNameSet
        var sink: Sink

        func covers(_ name: LockName) -> Bool {
            name.value.hasPrefix(prefix) && (names.isAll || names.contains(name.value))
        }
    }

    /// A lease whose expiry someone watches.
    struct TrackedLease {
        /// When to look whether it expired (monotonic ns).
        var deadline: UInt64
        /// What the watchers last heard of it.
        var event: LockEvent
    }

    struct Key: Hashable {
        var name: LockName
        var fence: Int64
    }

    private struct State {
        /// Watchers grouped by prefix: an event is matched against each
        /// distinct prefix once, so streams on prefixes it misses cost it
        /// nothing (a thousand streams often share a handful of prefixes).
        var byPrefix: [String: [UInt64: Watcher]] = [:]
        var watcherCount = 0
        var sequence: UInt64 = 0
        var tracked: [Key: TrackedLease] = [:]
        /// Leases reported ended lately: a late `released` after an
        /// `expired` (or the reverse) is not reported twice.
        var ended: Set<Key> = []
        /// The same keys, oldest at `endedNext` once full (a ring).
        var endedOrder: [Key] = []
        var endedNext = 0
        /// The deadline the expiry task sleeps towards (monotonic ns).
        var nextDeadline: UInt64 = .max
    }

    private let state = Mutex(State())
    private let nextID = Atomic<UInt64>(0)
    private let expiryBell: Doorbell
    private let interest: @Sendable (Bool) -> Void
    private let prefixesChanged: @Sendable ([String]) -> Void

    /// How many ended leases are remembered for de-duplication.
    static let endedMemory = 4_096
    /// Looked at this long after a lease's expiry (the store's clock may
    /// run a little behind lockd's reading of it).
    static let expiryMarginMs: Int64 = 2

    /// A hub whose expiry task sleeps on `expiryBell`; `interest` hears when
    /// the first watcher comes and the last goes, `prefixes` the distinct
    /// watched prefixes whenever they change.
    init(expiryBell: Doorbell, interest: @escaping @Sendable (Bool) -> Void, prefixes: @escaping @Sendable ([String]) -> Void = { _ in }) {
        self.expiryBell = expiryBell
        self.interest = interest
        self.prefixesChanged = prefixes
    }

    /// An id for ``watch(_:prefix:within:sink:)``, made first so that the
    /// stream that ends the watch can know it.
    public func makeWatchID() -> UInt64 {
        nextID.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Starts handing `sink` every event of a name that starts with
    /// `prefix` and is in `names`.
    public func watch(_ id: UInt64, prefix: String, within names: LockNameSet, sink: @escaping Sink) {
        let (first, newPrefixes) = state.withLock { state -> (Bool, [String]?) in
            let isNewPrefix = state.byPrefix[prefix] == nil
            if state.byPrefix[prefix, default: [:]].updateValue(Watcher(prefix: prefix, names: names, sink: sink), forKey: id) == nil {
                state.watcherCount += 1
            }
            return (state.watcherCount == 1, isNewPrefix ? Array(state.byPrefix.keys) : nil)
        }
        if let newPrefixes { prefixesChanged(newPrefixes) }
        if first { interest(true) }
    }

    /// Stops the watch `id` (no harm if it has ended already).
    public func unwatch(_ id: UInt64) {
        let (last, newPrefixes) = state.withLock { state -> (Bool, [String]?) in
            guard let prefix = state.byPrefix.first(where: { $0.value[id] != nil })?.key else { return (false, nil) }
            state.byPrefix[prefix]?[id] = nil
            var newPrefixes: [String]?
            if state.byPrefix[prefix]?.isEmpty == true {
                state.byPrefix[prefix] = nil
                newPrefixes = Array(state.byPrefix.keys)
            }
            state.watcherCount -= 1
            guard state.watcherCount == 0 else { return (false, newPrefixes) }
            state.tracked = [:]
            return (true, newPrefixes)
        }
        if let newPrefixes { prefixesChanged(newPrefixes) }
        if last { interest(false) }
    }

    /// How many watchers this process has.
    public var watcherCount: Int { state.withLock { $0.watcherCount } }

    /// Tracks the expiry of leases held before a watch began (a listing's).
    func track(_ locks: [LockStatus]) {
        let now = MonotonicClock.now()
        let earliest = state.withLock { state -> UInt64? in
            for lock in locks {
                for holder in lock.holders {
                    let event = LockEvent(.acquired, name: lock.name, fence: holder.fence, owner: holder.owner, client: holder.client,
                                          mode: holder.mode, atMs: holder.expiresAtMs - holder.remainingMs, expiresAtMs: holder.expiresAtMs)
                    let key = Key(name: lock.name, fence: holder.fence)
                    if state.tracked[key] == nil { state.tracked[key] = TrackedLease(deadline: Self.deadline(event, now: now), event: event) }
                }
            }
            return state.tracked.values.map(\.deadline).min()
        }
        if let earliest { scheduled(earliest) }
    }

    /// Hands `event` to the watchers that cover it, and follows the lease's expiry.
    func receive(_ event: LockEvent) {
        let now = MonotonicClock.now()
        let (deliveries, newDeadline) = state.withLock { state -> ([(UInt64, Sink, Delivery)], UInt64?) in
            var watchers: [(UInt64, Watcher)] = []
            for (prefix, group) in state.byPrefix where event.name.value.hasPrefix(prefix) {
                for (id, watcher) in group where watcher.covers(event.name) { watchers.append((id, watcher)) }
            }
            guard !watchers.isEmpty else { return ([], nil) }
            let key = Key(name: event.name, fence: event.fence)
            var newDeadline: UInt64?
            switch event.kind {
            case .acquired, .renewed:
                guard !state.ended.contains(key) else { return ([], nil) }
                let deadline = Self.deadline(event, now: now)
                state.tracked[key] = TrackedLease(deadline: deadline, event: event)
                if deadline < state.nextDeadline { newDeadline = deadline }
            case .released, .expired, .lost:
                state.tracked[key] = nil
                guard state.ended.insert(key).inserted else { return ([], nil) }
                if state.endedOrder.count < Self.endedMemory {
                    state.endedOrder.append(key)
                } else {
                    state.ended.remove(state.endedOrder[state.endedNext])
                    state.endedOrder[state.endedNext] = key
                    state.endedNext = (state.endedNext + 1) % Self.endedMemory
                }
            }
            state.sequence += 1
            let delivery = Delivery(sequence: state.sequence, event: event)
            return (watchers.map { ($0.0, $0.1.sink, delivery) }, newDeadline)
        }
        if let newDeadline { scheduled(newDeadline) }
        for (id, sink, delivery) in deliveries where !sink(delivery) { unwatch(id) }
    }

    // MARK: Expiries

    /// How long until the next watched lease may have expired; nil when none is watched.
    func untilNextExpiry() -> Duration? {
        let now = MonotonicClock.now()
        return state.withLock { state in
            state.nextDeadline = state.tracked.values.map(\.deadline).min() ?? .max
            guard state.nextDeadline != .max else { return nil }
            return .nanoseconds(Int64(state.nextDeadline > now ? state.nextDeadline - now : 0))
        }
    }

    /// The watched leases whose time is up, taken out of tracking.
    func dueLeases() -> [TrackedLease] {
        let now = MonotonicClock.now()
        return state.withLock { state in
            let due = state.tracked.filter { $0.value.deadline <= now }
            for key in due.keys { state.tracked[key] = nil }
            return Array(due.values)
        }
    }

    /// A due lease still held (a renewal this process has not heard of yet):
    /// looked at again when its `remainingMs` are up.
    func stillHeld(_ lease: TrackedLease, remainingMs: Int64) {
        let deadline = MonotonicClock.now() + UInt64(max(0, remainingMs) + Self.expiryMarginMs) * 1_000_000
        let scheduled = state.withLock { state -> Bool in
            let key = Key(name: lease.event.name, fence: lease.event.fence)
            guard state.tracked[key] == nil, !state.ended.contains(key), state.watcherCount > 0 else { return false }
            state.tracked[key] = TrackedLease(deadline: deadline, event: lease.event)
            return true
        }
        if scheduled { self.scheduled(deadline) }
    }

    /// A due lease gone from the store: reported `expired` unless an event
    /// about it arrived meanwhile.
    func expired(_ lease: TrackedLease) {
        let key = Key(name: lease.event.name, fence: lease.event.fence)
        guard state.withLock({ $0.tracked[key] == nil }) else { return }
        let atMs = lease.event.expiresAtMs ?? lease.event.atMs
        receive(LockEvent(.expired, name: lease.event.name, fence: lease.event.fence, owner: lease.event.owner,
                          client: lease.event.client, mode: lease.event.mode, atMs: atMs))
    }

    private func scheduled(_ deadline: UInt64) {
        let earlier = state.withLock { state in
            guard deadline < state.nextDeadline else { return false }
            state.nextDeadline = deadline
            return true
        }
        if earlier { expiryBell.ring() }
    }

    /// When to look at a lease after hearing `event` at `now`: its remaining
    /// time on lockd's clock, so that the clocks of lockd and the store need
    /// not agree.
    private static func deadline(_ event: LockEvent, now: UInt64) -> UInt64 {
        now + UInt64(max(0, (event.remainingMs ?? 0) + expiryMarginMs)) * 1_000_000
    }
}
