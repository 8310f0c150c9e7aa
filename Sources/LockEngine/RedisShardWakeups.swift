import LockdRedis
import LockdTransport
import Logging
import Synchronization

/// In a Redis Cluster, the shard channels on which one lockd instance hears
/// wake-ups: for each name it has waiters on, the name's channel (the
/// scripts `SPUBLISH` there) and its own channel for the name (which carries
/// nothing: the scripts count its subscribers to tell that this instance
/// listens). Both lie in the name's slot, so the routed subscriber places
/// them on the node that serves the name, and follows failovers and
/// resharding.
///
/// A name is subscribed when its first waiter here has joined the queue
/// (``listen(on:)``; the waiter then looks at the queue once more, as a
/// wake-up published before the subscription was lost) and unsubscribed
/// ``grace`` after the last beat that named it, so a name waited on now and
/// then does not subscribe on every wait.
///
/// Only while someone takes the messages (between ``deliver(to:)`` and
/// ``close(forGood:)``): a waiter left behind in a stopped engine, or a beat
/// that raced the stop, must not subscribe again with nobody to drop the
/// subscription later — its instance would count as listening for good.
final class RedisShardWakeups: Sendable {
    private let client: RedisClient
    private let instanceID: String
    private let grace: UInt64
    private let logger: Logger
    /// A node that refuses the subscription (no channel permission) or is
    /// unreachable fails every waiter's and beat's attempt: warn now and then.
    private let failureWarnings = Throttle(interval: .seconds(10))
    private let state = Mutex(State())

    private struct State {
        var names: [LockName: Entry] = [:]
        var handler: (@Sendable (LockName, RedisSubscription.Event) -> Void)?
        var closed = false
    }

    private enum Entry {
        /// Being subscribed; these callers wait for it (and learn whether it worked).
        case subscribing(waiting: [CheckedContinuation<Bool, Never>], wantedAt: UInt64)
        case listening(Task<Void, Never>, wantedAt: UInt64)
    }

    init(client: RedisClient, instanceID: String, grace: Duration = .seconds(2), logger: Logger) {
        self.client = client
        self.instanceID = instanceID
        self.grace = MonotonicClock.nanoseconds(grace)
        self.logger = logger
    }

    /// Where messages go: `handler` gets each name's messages and
    /// `.resubscribed` (messages may have been lost).
    func deliver(to handler: @escaping @Sendable (LockName, RedisSubscription.Event) -> Void) {
        state.withLock { $0.handler = handler }
    }

    /// Makes sure this instance listens for wake-ups on `name`; true when it
    /// did not before this call and does now (its own subscription or one
    /// under way that it awaited succeeded), so that a waiter that joined the
    /// queue meanwhile should look again. False when it listened already or
    /// the subscription failed: looking again would only fail the same way
    /// (the next beat tries again, and then the waiters look again).
    func listen(on name: LockName) async -> Bool {
        let now = MonotonicClock.now()
        enum Step { case listening, wait, subscribe }
        let step: Step = state.withLock { state in
            switch state.names[name] {
            case .listening(let task, _):
                state.names[name] = .listening(task, wantedAt: now)
                return .listening
            case .subscribing:
                return .wait
            case nil:
                // Nobody takes messages: once someone does, the beat subscribes.
                guard !state.closed, state.handler != nil else { return .listening }
                state.names[name] = .subscribing(waiting: [], wantedAt: now)
                return .subscribe
            }
        }
        switch step {
        case .listening:
            return false
        case .wait:
            return await withCheckedContinuation { continuation in
                let parked = state.withLock { state -> Bool in
                    guard case .subscribing(var waiting, let wantedAt) = state.names[name] else { return false }
                    waiting.append(continuation)
                    state.names[name] = .subscribing(waiting: waiting, wantedAt: wantedAt)
                    return true
                }
                // Settled meanwhile: listening now, or failed (or closed).
                if !parked { continuation.resume(returning: listeningNames.contains(name)) }
            }
        case .subscribe:
            return await subscribe(name)
        }
    }

    /// The names this instance has waiters on now (from its beat): each
    /// stays subscribed, and one whose subscription failed is tried again.
    func keep(_ names: Set<LockName>) {
        let now = MonotonicClock.now()
        var missing: [LockName] = []
        state.withLock { state in
            guard !state.closed, state.handler != nil else { return }
            for name in names {
                switch state.names[name] {
                case .listening(let task, _): state.names[name] = .listening(task, wantedAt: now)
                case .subscribing(let waiting, _): state.names[name] = .subscribing(waiting: waiting, wantedAt: now)
                case nil:
                    state.names[name] = .subscribing(waiting: [], wantedAt: now)
                    missing.append(name)
                }
            }
        }
        for name in missing {
            Task(executorPreference: client.subscriptionLoop) {
                // Wake-ups before now are lost: the waiters look again — but
                // only once listening, or a refused subscription would have
                // every waiter look again on every beat.
                if await self.subscribe(name) { self.state.withLock { $0.handler }?(name, .resubscribed) }
            }
        }
    }

    /// Unsubscribes names no beat named for ``grace``.
    func dropUnwanted() {
        let now = MonotonicClock.now()
        let dropped: [Task<Void, Never>] = state.withLock { state in
            var dropped: [Task<Void, Never>] = []
            for (name, entry) in state.names {
                if case .listening(let task, let wantedAt) = entry, now &- wantedAt > grace {
                    state.names[name] = nil
                    dropped.append(task)
                }
            }
            return dropped
        }
        // Ending the reader ends the subscription, which unsubscribes.
        for task in dropped { task.cancel() }
    }

    /// The names subscribed now (for tests and metrics).
    var listeningNames: Set<LockName> {
        state.withLock { state in
            Set(state.names.compactMap { name, entry in
                if case .listening = entry { return name } else { return nil }
            })
        }
    }

    /// Ends every subscription: nobody hears wake-ups any more (the engine
    /// stopped), so the scripts must not count this instance as listening.
    /// With `forGood` false a later ``listen(on:)`` subscribes again.
    func close(forGood: Bool = true) {
        let entries = state.withLock { state -> [Entry] in
            if forGood { state.closed = true }
            state.handler = nil
            defer { state.names = [:] }
            return Array(state.names.values)
        }
        for entry in entries {
            switch entry {
            case .listening(let task, _): task.cancel()
            // Their subscription, when it comes, finds no entry and ends.
            case .subscribing(let waiting, _): for continuation in waiting { continuation.resume(returning: false) }
            }
        }
    }

    /// Subscribes `name`'s channels; true when this instance listens now.
    private func subscribe(_ name: LockName) async -> Bool {
        let subscription: RedisSubscription?
        do {
            subscription = try await client.subscribe(
                to: [RedisLockScripts.shardChannel(name), RedisLockScripts.shardChannel(name, instance: instanceID)],
                kind: .shardChannel)
        } catch {
            subscription = nil
            if let suppressed = failureWarnings.admit() {
                logger.warning("cannot subscribe to a lock's wake-up channel; its waiters rely on rechecks until it works",
                               metadata: ["lock": "\(name.value)", "error": "\(error)", "suppressed": "\(suppressed)"])
            } else {
                logger.debug("cannot subscribe to a lock's wake-up channel", metadata: ["lock": "\(name.value)", "error": "\(error)"])
            }
        }
        let (waiting, listening) = state.withLock { state -> ([CheckedContinuation<Bool, Never>], Bool) in
            guard case .subscribing(let waiting, let wantedAt) = state.names[name] else { return ([], false) }
            if let subscription, !state.closed {
                let reader = Task(executorPreference: client.subscriptionLoop) { await self.read(subscription, of: name) }
                state.names[name] = .listening(reader, wantedAt: wantedAt)
                return (waiting, true)
            }
            // Failed (a node unreachable, or refusing): the next beat tries again.
            state.names[name] = nil
            return (waiting, false)
        }
        for continuation in waiting { continuation.resume(returning: listening) }
        return listening
    }

    private func read(_ subscription: RedisSubscription, of name: LockName) async {
        for await event in subscription {
            state.withLock { $0.handler }?(name, event)
        }
        // Ended by the client (shut down) or by ``dropUnwanted()``: a
        // later waiter subscribes afresh.
        state.withLock { state in
            if case .listening = state.names[name], !Task.isCancelled { state.names[name] = nil }
        }
    }
}
