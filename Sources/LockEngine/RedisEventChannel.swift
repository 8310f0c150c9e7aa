import LockdRedis
import LockdTransport
import Logging
import Synchronization

/// Lock events between the lockd instances that share a Redis, over plain
/// pub/sub (no keyspace notifications): each event is `PUBLISH`ed, without
/// waiting, on ``eventsChannel``, to which only instances with watchers
/// subscribe.
///
/// Publishing stops while nobody listens: a `PUBLISH` that reached no
/// subscriber turns it off, and an instance that starts watching announces
/// itself on ``watchingChannel`` (which every instance hears with its
/// wake-ups), turning it on everywhere. A generation count keeps a late
/// "nobody" reply from undoing a newer announcement. In a Redis Cluster a
/// `PUBLISH` counts only one node's subscribers, so there it never stops.
///
/// Announcements carry the instance's watched prefixes (and are repeated
/// every ``reannounceInterval``), so that events of names nobody watches
/// are not published at all. An instance that may have missed
/// announcements (just started, or its subscription was renewed) publishes
/// everything for ``graceInterval``, until it has heard them again.
final class RedisEventChannel: Sendable {
    /// Where events go.
    static let eventsChannel = "lockd:events"
    /// Where an instance that starts watching says so.
    static let watchingChannel = "lockd:events:watching"

    private let client: RedisClient
    private let instanceID: String
    private let countsEverySubscriber: Bool
    private let logger: Logger

    private struct Publication {
        var watched = true
        var generation: UInt64 = 0
    }

    private let publication = Mutex(Publication())
    /// ``Publication/watched``, read without the lock on every lock operation.
    private let watched = Atomic<Bool>(true)

    private struct Interest {
        var interested = false
        var subscription: RedisSubscription?
        /// Callers of ``waitUntilSubscribed(timeout:)``.
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let interest = Mutex(Interest())

    /// The prefixes watched on this instance and, as last announced, on
    /// the others.
    private struct Prefixes {
        var local: [String] = []
        var remote: [String: (prefixes: [String], until: UInt64)] = [:]
        /// Publish every event until then (monotonic ns).
        var allUntil: UInt64
    }

    private let prefixes: Mutex<Prefixes>
    static let reannounceInterval = Duration.seconds(5)
    static let graceInterval = Duration.seconds(6)
    /// How long an announcement holds without being repeated.
    static let announcementLifetime = Duration.seconds(12)
    private let changes: AsyncStream<Void>
    private let changed: AsyncStream<Void>.Continuation

    /// A channel over `client`; `countsEverySubscriber` is false on a cluster.
    /// `grace`: how long it publishes everything at first (tests shorten it).
    init(client: RedisClient, instanceID: String, countsEverySubscriber: Bool, logger: Logger, grace: Duration = graceInterval) {
        self.client = client
        self.instanceID = instanceID
        self.prefixes = Mutex(Prefixes(allUntil: MonotonicClock.now() + MonotonicClock.nanoseconds(grace)))
        self.countsEverySubscriber = countsEverySubscriber
        self.logger = logger
        (changes, changed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Whether any instance may listen.
    var mayHaveWatchers: Bool { watched.load(ordering: .relaxed) }

    /// Publishes `event`; a reply of no receivers stops publishing until
    /// someone announces a watch.
    func publish(_ event: LockEvent) {
        let generation = publication.withLock { $0.generation }
        client.publish(Self.eventsChannel, message: event.message) { [self] receivers in
            if receivers == 0 { nobodyWatches(since: generation) }
        }
    }

    /// Whether an event of `name` may reach a watcher: someone watches a
    /// prefix of it, or this instance cannot be sure nobody does.
    func mayWatch(_ name: LockName) -> Bool {
        guard watched.load(ordering: .relaxed) else { return false }
        let now = MonotonicClock.now()
        let reach = reach(of: name, at: now)
        guard reach == .nobody else { return reach == .someone }
        // Nobody watches anything: the lock path then skips the clock and
        // the lock, as after a PUBLISH that reached no one. Without this, an
        // instance whose first lock operation came after its grace
        // published nothing, so no reply ever turned publishing off, and
        // every acquire and release came here for good. The generation is
        // read before the prefixes are read again: an announcement heard
        // meanwhile moves it, and publishing stays on.
        let generation = publication.withLock { $0.generation }
        let again = self.reach(of: name, at: now)
        if again == .nobody { nobodyWatches(since: generation) }
        return again == .someone
    }

    /// Who an event of a name may reach, as far as this instance knows.
    private enum Reach { case someone, notThisName, nobody }

    private func reach(of name: LockName, at now: UInt64) -> Reach {
        prefixes.withLock { prefixes in
            if now < prefixes.allUntil { return .someone }
            if prefixes.local.contains(where: { name.starts(with: $0) }) { return .someone }
            var anyLive = false
            for entry in prefixes.remote.values where entry.until > now {
                if entry.prefixes.contains(where: { name.starts(with: $0) }) { return .someone }
                anyLive = true
            }
            return prefixes.local.isEmpty && !anyLive ? .nobody : .notThisName
        }
    }

    /// Stops publishing, unless an announcement or a reconnection has
    /// turned it on again since `generation` was read.
    private func nobodyWatches(since generation: UInt64) {
        guard countsEverySubscriber else { return }
        publication.withLock { publication in
            guard publication.generation == generation else { return }
            publication.watched = false
            watched.store(false, ordering: .relaxed)
        }
    }

    /// The distinct prefixes this instance's watchers watch now; announced.
    func setLocalPrefixes(_ local: [String]) {
        prefixes.withLock { $0.local = local }
        if interest.withLock({ $0.subscription != nil }) { announce() }
    }

    /// An announcement on ``watchingChannel``: `instance` then one `P`-led
    /// line per prefix (none: that instance stopped watching).
    func heard(announcement message: String) {
        let lines = message.split(separator: "\n", omittingEmptySubsequences: false)
        guard let instance = lines.first, !instance.isEmpty else { return someoneMayWatch() }
        let watchedPrefixes = lines.dropFirst().filter { $0.hasPrefix("P") }.map { String($0.dropFirst()) }
        let until = MonotonicClock.now() + MonotonicClock.nanoseconds(Self.announcementLifetime)
        prefixes.withLock { prefixes in
            prefixes.remote[String(instance)] = watchedPrefixes.isEmpty ? nil : (watchedPrefixes, until)
        }
        if !watchedPrefixes.isEmpty { publishAgain() }
    }

    /// Someone may watch unseen (a reconnection that may have lost
    /// announcements): publish everything for a while.
    func someoneMayWatch() {
        let until = MonotonicClock.now() + MonotonicClock.nanoseconds(Self.graceInterval)
        prefixes.withLock { $0.allUntil = max($0.allUntil, until) }
        publishAgain()
    }

    /// Undoes an earlier "nobody listens".
    private func publishAgain() {
        publication.withLock { publication in
            publication.generation &+= 1
            publication.watched = true
            watched.store(true, ordering: .relaxed)
        }
    }

    /// Starts or stops this instance's subscription to the events.
    func setInterest(_ interested: Bool) {
        let subscription = interest.withLock { state -> RedisSubscription? in
            state.interested = interested
            guard !interested else { return nil }
            defer { state.subscription = nil }
            return state.subscription
        }
        subscription?.cancel()
        changed.yield()
    }

    /// Returns once this instance's subscription is confirmed (events
    /// published from then on reach it), or after `timeout` (Redis is out:
    /// the subscription follows when it is back).
    func waitUntilSubscribed(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.subscribed() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func subscribed() async {
        let id = interest.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = interest.withLock { state -> Bool in
                    if state.subscription != nil || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            interest.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Hands every event published while this instance is interested to
    /// `handler`, until the task is cancelled.
    /// Whenever the events may have had a gap — the subscription was renewed
    /// or could not be made while this instance was interested — it hands
    /// `handler` ``StoreEvent/eventsMissed`` once events flow again.
    func deliver(to handler: @escaping @Sendable (StoreEvent) -> Void) async {
        var changes = changes.makeAsyncIterator()
        // Whether events published while this instance was interested may
        // not have reached it.
        var missed = false
        while !Task.isCancelled {
            guard interest.withLock({ $0.interested }) else {
                missed = false
                if await changes.next() == nil { return }
                continue
            }
            do {
                let subscription = try await client.subscribe(to: [Self.eventsChannel])
                let waiters = interest.withLock { state -> [CheckedContinuation<Void, Never>]? in
                    guard state.interested else { return nil }
                    state.subscription = subscription
                    defer { state.waiters = [:] }
                    return Array(state.waiters.values)
                }
                guard let waiters else {
                    subscription.cancel()
                    continue
                }
                announce()
                for waiter in waiters { waiter.resume() }
                if missed { handler(.eventsMissed) }
                missed = true
                for await event in subscription {
                    switch event {
                    case .message(let message):
                        if let event = LockEvent(message: message.string) { handler(.lock(event)) }
                    case .resubscribed:
                        // Reconnected, or dropped messages it fell behind on.
                        announce()
                        handler(.eventsMissed)
                    }
                }
                interest.withLock { state in
                    if state.subscription === subscription { state.subscription = nil }
                }
            } catch {
                missed = true
                logger.debug("event subscription failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// Tells every instance (this one at once) which prefixes this one watches.
    private func announce() {
        let local = prefixes.withLock { $0.local }
        heard(announcement: ([instanceID] + local.map { "P" + $0 }).joined(separator: "\n"))
        client.publish(Self.watchingChannel, message: ([instanceID] + local.map { "P" + $0 }).joined(separator: "\n"))
    }

    /// Repeats this instance's announcement while it watches, so that
    /// instances that start later learn of it; until the task is cancelled.
    func reannounce() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.reannounceInterval)
            if interest.withLock({ $0.subscription != nil }) { announce() }
        }
    }
}
