import LockdTransport
import Synchronization

/// This process's event watchers (the open `GET /events` streams) and what
/// they need: each event the store delivers, numbered and handed to the
/// watchers whose prefix and readable names cover it, and a timer per
/// watched lease so that its expiry — which nothing announces — is
/// reported (see ``LockEngine/watchExpiries()``).
///
/// Events are numbered `EPOCH-SEQUENCE` (``eventID(_:)``): `EPOCH` is
/// drawn at random when the hub is made, so an id from another process or
/// an earlier run never passes for one of this hub's. The last
/// ``EventReplayRing/defaultCapacity`` deliveries are kept, and a watch
/// that ends other than by falling behind lingers for ``lingering`` as a
/// *ghost* that still numbers the events it covers: a reader that
/// reconnects with the id of the last event it read is handed the ones it
/// missed (``watch(_:prefix:within:resumingAfter:replayLimit:sink:end:)``).
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
        /// nil for a ghost: a watch whose reader has gone, kept a while so it can resume.
        var sink: Sink?
        /// Ends the reader's stream (when events it should have had were missed).
        var end: (@Sendable () -> Void)?
        /// The hub's sequence when the watch began: it has covered every event numbered after.
        var since: UInt64 = 0

        func covers(_ name: LockName) -> Bool {
            name.starts(with: prefix) && (names.isAll || names.contains(name.value))
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
        /// The latest deliveries, for readers that resume.
        var recent = EventReplayRing()
        /// The ghosts among the watchers, and when each ends (monotonic ns).
        var ghosts: [UInt64: UInt64] = [:]
        /// The sequence when events last went missing (``breakContinuity()``):
        /// no reader resumes from an id up to it.
        var brokenAt: UInt64 = 0

        func prefix(of id: UInt64) -> String? {
            byPrefix.first(where: { $0.value[id] != nil })?.key
        }

        /// Takes watcher `id` out; answers whether it was the last, and the
        /// distinct prefixes if they changed.
        mutating func remove(_ id: UInt64, under prefix: String) -> (last: Bool, prefixes: [String]?) {
            guard byPrefix[prefix]?.removeValue(forKey: id) != nil else { return (false, nil) }
            ghosts[id] = nil
            var prefixes: [String]?
            if byPrefix[prefix]?.isEmpty == true {
                byPrefix[prefix] = nil
                prefixes = Array(byPrefix.keys)
            }
            watcherCount -= 1
            guard watcherCount == 0 else { return (false, prefixes) }
            tracked = [:]
            return (true, prefixes)
        }

        /// The events after `sequence` a watch of `prefix` and `names`
        /// would have received, and the watch that covered them all along
        /// (a ghost rather than a live one, the oldest first); nil if
        /// some may be missing.
        func missed(after sequence: UInt64, prefix: String, names: LockNameSet) -> (coverer: (UInt64, Watcher), events: [Delivery])? {
            guard sequence > brokenAt, let kept = recent.after(sequence, latest: self.sequence),
                  let coverer = byPrefix[prefix]?.filter({ $0.value.names == names && $0.value.since <= sequence })
                      .min(by: { ($0.value.sink == nil ? 0 : 1, $0.value.since) < ($1.value.sink == nil ? 0 : 1, $1.value.since) })
            else { return nil }
            return ((coverer.key, coverer.value), kept.filter { coverer.value.covers($0.event.name) })
        }
    }

    private let state = Mutex(State())
    /// Held from numbering an event until every sink has it, so that one
    /// stream receives ids in increasing order: a reader resumes after the
    /// last id it read, and an event numbered lower but handed over later
    /// would be skipped without a gap. Sinks only queue bytes, and none of
    /// them calls ``receive(_:)``; ``state`` is only ever taken inside it.
    private let deliveryOrder = Mutex(())
    private let nextID = Atomic<UInt64>(0)
    private let expiryBell: Doorbell
    private let interest: @Sendable (Bool) -> Void
    private let prefixesChanged: @Sendable ([String]) -> Void

    /// How many ended leases are remembered for de-duplication.
    static let endedMemory = 4_096
    /// How long a watch outlives its reader, numbering the events it
    /// covers, so that a reader reconnecting within it misses nothing.
    static let lingering = Duration.seconds(30)
    /// The most ghosts kept at once; past it a watch ends without one.
    static let ghostLimit = 1_024

    /// This hub's part of every event id: 16 hex digits drawn at random.
    public let epoch: String

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
        let epoch = String(UInt64.random(in: 0 ... .max), radix: 16)
        self.epoch = String(repeating: "0", count: 16 - epoch.count) + epoch
    }

    /// The SSE `id:` of the delivery numbered `sequence`: `EPOCH-SEQUENCE`.
    public func eventID(_ sequence: UInt64) -> String {
        "\(epoch)-\(sequence)"
    }

    /// The sequence an id of ``eventID(_:)`` names; nil for an id of
    /// another hub (another process, an earlier run) or not an id at all.
    public func sequence(ofEventID id: String) -> UInt64? {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == epoch else { return nil }
        return UInt64(parts[1])
    }

    /// An id for ``watch(_:prefix:within:sink:)``, made first so that the
    /// stream that ends the watch can know it.
    public func makeWatchID() -> UInt64 {
        nextID.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Starts handing `sink` every event of a name that starts with
    /// `prefix` and is in `names`.
    public func watch(_ id: UInt64, prefix: String, within names: LockNameSet, sink: @escaping Sink) {
        watch(id, prefix: prefix, within: names, resumingAfter: nil, sink: sink)
    }

    /// Starts handing `sink` every event of a name that starts with
    /// `prefix` and is in `names` — first, when `lastEventID` is given, the
    /// events after it that this watch would have received. `end` ends the
    /// reader's stream when events it should have had went missing (see
    /// ``breakContinuity()``): the reader then resumes and learns of the gap.
    ///
    /// That replay happens only if the id is this hub's, the events after
    /// it are all still kept, at most `replayLimit` of them are this
    /// watch's, and some watch of the same prefix and names (as a rule the
    /// reader's own earlier one, now a ghost) has covered every event since.
    /// - Returns: Whether the events after `lastEventID` were replayed;
    ///   false without a `lastEventID`.
    @discardableResult
    public func watch(_ id: UInt64, prefix: String, within names: LockNameSet, resumingAfter lastEventID: String?,
                      replayLimit: Int = EventReplayRing.defaultCapacity, sink: @escaping Sink,
                      end: (@Sendable () -> Void)? = nil) -> Bool {
        let resumeAfter = lastEventID.flatMap { sequence(ofEventID: $0) }
        let gate = resumeAfter.map { _ in ReplayGate(sink: sink) }
        let (first, newPrefixes, replay) = state.withLock { state -> (Bool, [String]?, [Delivery]?) in
            let isNewPrefix = state.byPrefix[prefix] == nil
            var watcher = Watcher(prefix: prefix, names: names, sink: gate.map { gate in gate.deliver } ?? sink, end: end,
                                  since: state.sequence)
            var replay: [Delivery]?
            var ghost: UInt64?
            if let resumeAfter, let missed = state.missed(after: resumeAfter, prefix: prefix, names: names),
               missed.events.count <= replayLimit {
                replay = missed.events
                watcher.since = missed.coverer.1.since
                if missed.coverer.1.sink == nil { ghost = missed.coverer.0 }
            }
            if state.byPrefix[prefix, default: [:]].updateValue(watcher, forKey: id) == nil {
                state.watcherCount += 1
            }
            // The reader's ghost lives on as this watch.
            if let ghost { _ = state.remove(ghost, under: prefix) }
            return (state.watcherCount == 1, isNewPrefix ? Array(state.byPrefix.keys) : nil, replay)
        }
        if let newPrefixes { prefixesChanged(newPrefixes) }
        if first { interest(true) }
        if let gate, !gate.open(replaying: replay ?? []) { retire(id) }
        return replay != nil
    }

    /// Stops the watch `id` (no harm if it has ended already). With
    /// `linger`, it stays for ``lingering`` as a ghost its reader can
    /// resume (see ``watch(_:prefix:within:resumingAfter:replayLimit:sink:end:)``).
    public func unwatch(_ id: UInt64, linger: Bool = false) {
        let deadline = MonotonicClock.now() + UInt64(Self.lingering.components.seconds) * 1_000_000_000
        let (last, newPrefixes, lingers) = state.withLock { state -> (Bool, [String]?, Bool) in
            guard let prefix = state.prefix(of: id) else { return (false, nil, false) }
            if linger, state.byPrefix[prefix]?[id]?.sink != nil, state.ghosts.count < Self.ghostLimit {
                state.byPrefix[prefix]?[id]?.sink = nil
                state.ghosts[id] = deadline
                return (false, nil, true)
            }
            let (last, prefixes) = state.remove(id, under: prefix)
            return (last, prefixes, false)
        }
        if lingers { scheduled(deadline) }
        changed(last: last, prefixes: newPrefixes)
    }

    /// Ends the watch `id` whose sink wants no more, unless it is a ghost by now.
    private func retire(_ id: UInt64) {
        let (last, newPrefixes) = state.withLock { state -> (Bool, [String]?) in
            guard let prefix = state.prefix(of: id), state.byPrefix[prefix]?[id]?.sink != nil else { return (false, nil) }
            return state.remove(id, under: prefix)
        }
        changed(last: last, prefixes: newPrefixes)
    }

    /// Ends the ghosts whose time is up.
    func endGhosts() {
        let now = MonotonicClock.now()
        let (last, newPrefixes) = state.withLock { state -> (Bool, [String]?) in
            var last = false
            var newPrefixes: [String]?
            for (id, deadline) in state.ghosts where deadline <= now {
                guard let prefix = state.prefix(of: id) else { continue }
                let removed = state.remove(id, under: prefix)
                last = last || removed.last
                newPrefixes = removed.prefixes ?? newPrefixes
            }
            return (last, newPrefixes)
        }
        changed(last: last, prefixes: newPrefixes)
    }

    private func changed(last: Bool, prefixes: [String]?) {
        if let prefixes { prefixesChanged(prefixes) }
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

    /// Events went missing (the store's event subscription was renewed):
    /// the open streams end, so that their readers resume and hear that
    /// they may have missed some, and no reader resumes across the gap.
    func breakContinuity() {
        let ends = deliveryOrder.withLock { _ in
            state.withLock { state in
                state.brokenAt = state.sequence
                return state.byPrefix.values.flatMap { $0.values.compactMap { $0.sink == nil ? nil : $0.end } }
            }
        }
        for end in ends { end() }
    }

    /// Hands `event` to the watchers that cover it, and follows the lease's expiry.
    func receive(_ event: LockEvent) {
        deliveryOrder.withLock { _ in deliverInOrder(event) }
    }

    private func deliverInOrder(_ event: LockEvent) {
        let now = MonotonicClock.now()
        let (deliveries, newDeadline) = state.withLock { state -> ([(UInt64, Sink, Delivery)], UInt64?) in
            var watchers: [(UInt64, Watcher)] = []
            for (prefix, group) in state.byPrefix where event.name.starts(with: prefix) {
                for (id, watcher) in group where watcher.covers(event.name) { watchers.append((id, watcher)) }
            }
            guard !watchers.isEmpty else { return ([], nil) }
            let key = Key(name: event.name, fence: event.fence)
            var newDeadline: UInt64?
            switch event.kind {
            case .acquired, .renewed:
                guard !state.ended.contains(key) else { return ([], nil) }
                // Older than what the watchers heard of this lease (events
                // of one lease may arrive out of order, from several loops or
                // instances): its times are the store's, so they compare.
                if let heard = state.tracked[key]?.event, heard.atMs > event.atMs { return ([], nil) }
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
            state.recent.append(delivery)
            return (watchers.compactMap { id, watcher in watcher.sink.map { (id, $0, delivery) } }, newDeadline)
        }
        if let newDeadline { scheduled(newDeadline) }
        for (id, sink, delivery) in deliveries where !sink(delivery) { retire(id) }
    }

    // MARK: Expiries

    /// How long until the next watched lease may have expired; nil when none is watched.
    func untilNextExpiry() -> Duration? {
        let now = MonotonicClock.now()
        return state.withLock { state in
            state.nextDeadline = min(state.tracked.values.map(\.deadline).min() ?? .max, state.ghosts.values.min() ?? .max)
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
