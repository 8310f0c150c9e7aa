import LockdTransport
import Logging
import RESP

/// The client's pub/sub: each name subscribed on the node that serves it —
/// the one server, the Sentinel master, or in a cluster the master of the
/// name's hash slot (which `SSUBSCRIBE` requires, and which spreads classic
/// channels over the masters) — over one subscriber connection per node.
///
/// A name goes on the wire as its first subscription arrives and comes off
/// as its last one leaves. After a reconnect, a failover or a resharding,
/// each name is subscribed again where it now belongs, and its subscriptions
/// get `.resubscribed` (messages in between may have been lost).
final class RoutedSubscriber: Sendable {
    typealias Sink = AsyncStream<RedisSubscription.Event>.Continuation
    typealias Key = SubscriptionTable<Sink>.Key

    let loop: EventLoop
    private let factory: ConnectionFactory
    /// A consumer too slow for its buffer loses messages: warn now and then.
    private let overflowWarnings = Throttle(interval: .seconds(10))
    private let healthCheckInterval: Duration
    private let state: LoopBound<State>

    private struct State {
        var subscriptions = SubscriptionTable<Sink>()
        var snapshot: TopologySnapshot
        var connections: [RedisEndpoint: RedisConnection] = [:]
        /// The node each name is subscribed on now, as that node confirmed.
        var placement: [Key: RedisEndpoint] = [:]
        /// Names being subscribed again, not to be sent twice meanwhile.
        var moving: Set<Key> = []
        var random: SplitMix64
        var nextInternalID: UInt64 = 1 << 63
        var healthCheckArmed = false
        var reconcileArmed = false
        var shutDown = false
    }

    /// A group of names sent in one (un)subscribe command.
    private struct Batch {
        var endpoint: RedisEndpoint
        var kind: RedisSubscriptionKind
        var keys: [Key]
    }

    init(loop: EventLoop, factory: ConnectionFactory, snapshot: TopologySnapshot, seed: UInt64) {
        self.loop = loop
        self.factory = factory
        self.healthCheckInterval = factory.configuration.pubSubHealthCheckInterval
        self.state = LoopBound(State(snapshot: snapshot, random: SplitMix64(seed: seed)), on: loop)
    }

    // MARK: Subscribing (any thread)

    func subscribe(to names: [String], kind: RedisSubscriptionKind, id: UInt64) async throws(RedisError) -> RedisSubscription {
        guard !names.isEmpty else { throw RedisError(.invalidConfiguration, message: "subscribe needs at least one name") }
        let (stream, sink) = AsyncStream.makeStream(of: RedisSubscription.Event.self, bufferingPolicy: .bufferingNewest(10_000))
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: RedisConnection.Continuation) in
                loop.execute { [self] in
                    guard !state.value.shutDown else {
                        continuation.resume(returning: .failure(RedisError(.shutDown, message: "the Redis client was shut down")))
                        return
                    }
                    state.value.subscriptions.add(id: id, kind: kind, names: names, sink: sink)
                    subscribeFirst(names.map { Key(kind: kind, name: $0) }, id: id) { [self] result in
                        if case .success = result {
                            state.value.subscriptions.confirm(id: id)
                            armHealthCheck()
                        }
                        continuation.resume(returning: result)
                    }
                }
            }
        } onCancel: {
            loop.execute { [self] in
                for connection in state.value.connections.values { connection.cancel(id: id) }
            }
        }
        if case .failure(let error) = result {
            unsubscribe(id: id)
            throw error
        }
        let subscription = RedisSubscription(stream: stream) { [self] in unsubscribe(id: id) }
        sink.onTermination = { [weak self] _ in self?.unsubscribe(id: id) }
        return subscription
    }

    /// Ends every subscription and closes every connection.
    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute { [self] in
                state.value.shutDown = true
                for connection in state.value.connections.values { connection.shutdown() }
                state.value.connections = [:]
                for sink in state.value.subscriptions.removeAll() { sink.finish() }
                continuation.resume()
            }
        }
    }

    /// Ends subscription `id` and unsubscribes names nobody else wants (any thread).
    private func unsubscribe(id: UInt64) {
        loop.execute { [self] in
            guard let (sink, names) = state.value.subscriptions.remove(id: id) else { return }
            sink.finish()
            var placed: [Key] = []
            var unconfirmed: [Key] = []
            for (kind, names) in names {
                for name in names {
                    let key = Key(kind: kind, name: name)
                    if state.value.placement[key] != nil { placed.append(key) } else { unconfirmed.append(key) }
                }
            }
            unsubscribe(placed)
            // Never confirmed: its subscribe was cancelled (or failed) after
            // it may have been written, and the node may have run it. Taking
            // the names off the node the subscribe went to (on the same
            // connection, so after it) keeps the node from counting this
            // client as listening; a node that never had them just confirms.
            unsubscribe(unconfirmed) { [self] key in
                guard !state.value.moving.contains(key), let owner = owner(of: key), state.value.connections[owner] != nil else { return nil }
                return owner
            }
        }
    }

    // MARK: Topology (loop thread only)

    /// The topology changed: move names whose node changed.
    func topologyChanged(_ snapshot: TopologySnapshot) {
        guard !state.value.shutDown else { return }
        state.value.snapshot = snapshot
        reconcile()
    }

    /// A subscription's first `SUBSCRIBE`s: `completion` gets success once
    /// every node confirmed its names, or the first failure.
    private func subscribeFirst(_ keys: [Key], id: UInt64, completion: @escaping (Result<RESPValue, RedisError>) -> Void) {
        let batches: [Batch]
        switch self.batches(keys) {
        case .success(let made): batches = made
        case .failure(let error): return completion(.failure(error))
        }
        var remaining = batches.count
        var failure: RedisError?
        for batch in batches {
            send(batch, subscribe: true, id: id) { [self] result in
                switch result {
                case .success: placed(batch)
                case .failure(let error): failure = failure ?? error
                }
                remaining -= 1
                if remaining == 0 { completion(failure.map { .failure($0) } ?? .success(.null)) }
            }
        }
    }

    /// Subscribes `keys` again where the topology says they belong now,
    /// telling their subscriptions once each node answered all its batches
    /// (once, not per batch: a node may take thousands of shard channels,
    /// one slot per `SSUBSCRIBE`).
    private func resubscribe(_ keys: [Key]) {
        guard case .success(let batches) = batches(keys.filter { owner(of: $0) != nil }) else { return }
        var pending: [RedisEndpoint: Int] = [:]
        var confirmed: [RedisEndpoint: [Key]] = [:]
        for batch in batches { pending[batch.endpoint, default: 0] += 1 }
        for batch in batches {
            state.value.moving.formUnion(batch.keys)
            send(batch, subscribe: true, id: nextInternalID()) { [self] result in
                state.value.moving.subtract(batch.keys)
                switch result {
                case .success:
                    placed(batch)
                    confirmed[batch.endpoint, default: []] += batch.keys
                case .failure(let error):
                    if RedisRedirect(error.message, from: batch.endpoint) != nil { doubtTopology() }
                    scheduleReconcile()
                }
                pending[batch.endpoint, default: 1] -= 1
                guard pending[batch.endpoint] == 0 else { return }
                let keys = confirmed.removeValue(forKey: batch.endpoint) ?? []
                for sink in state.value.subscriptions.confirmedSinks(wanting: keys) { sink.yield(.resubscribed) }
                closeIdleConnections()
            }
        }
    }

    /// `batch` is confirmed on its node: record that, and take its names off
    /// the nodes they were on before (or off this one, if nobody wants them now).
    private func placed(_ batch: Batch) {
        var previous: [Key: RedisEndpoint] = [:]
        var unwanted: [Key] = []
        for key in batch.keys {
            guard state.value.subscriptions.wants(key) else {
                unwanted.append(key)
                continue
            }
            if let old = state.value.placement[key], old != batch.endpoint { previous[key] = old }
            state.value.placement[key] = batch.endpoint
        }
        // Still on the old node, a classic channel would be delivered twice.
        unsubscribe(Array(previous.keys), at: { previous[$0] })
        unsubscribe(unwanted, at: { _ in batch.endpoint })
    }

    /// Unsubscribes `keys` on the nodes they are placed on.
    private func unsubscribe(_ keys: [Key]) {
        unsubscribe(keys) { [self] key in state.value.placement.removeValue(forKey: key) }
    }

    /// Unsubscribes each of `keys` on the node `node(key)` names (skipping nil).
    private func unsubscribe(_ keys: [Key], at node: (Key) -> RedisEndpoint?) {
        var byNode: [RedisEndpoint: [Key]] = [:]
        for key in keys {
            if let endpoint = node(key) { byNode[endpoint, default: []].append(key) }
        }
        for (endpoint, keys) in byNode {
            for batch in group(keys, at: endpoint) {
                send(batch, subscribe: false, id: nextInternalID()) { _ in }
            }
        }
    }

    /// A node dropped `channel` by itself: its slot moved elsewhere.
    private func serverUnsubscribed(_ channel: String, at endpoint: RedisEndpoint) {
        let key = Key(kind: .shardChannel, name: channel)
        guard state.value.placement[key] == endpoint else { return }
        state.value.placement[key] = nil
        doubtTopology()
        scheduleReconcile()
    }

    /// A subscriber connection (re)connected: the node forgot the names it
    /// had, so subscribe them again (where they belong now).
    private func ready(_ endpoint: RedisEndpoint) {
        let keys = state.value.placement.filter { $0.value == endpoint }.map(\.key)
        guard !keys.isEmpty else { return }
        for key in keys { state.value.placement[key] = nil }
        resubscribe(keys)
    }

    /// Subscribes every wanted name that is not where it belongs.
    private func reconcile() {
        let wanted = state.value.subscriptions.confirmedKeys
        let misplaced = wanted.filter { key in
            guard !state.value.moving.contains(key), let owner = owner(of: key) else { return false }
            return state.value.placement[key] != owner
        }
        if !misplaced.isEmpty { resubscribe(Array(misplaced)) }
        closeIdleConnections()
    }

    /// Tries again shortly: a node was not ready or not where the map said.
    private func scheduleReconcile() {
        guard !state.value.reconcileArmed, !state.value.shutDown else { return }
        state.value.reconcileArmed = true
        _ = loop.scheduleTimer(after: .milliseconds(200)) { [weak self] in
            guard let self, !state.value.shutDown else { return }
            state.value.reconcileArmed = false
            reconcile()
        }
    }

    /// A node dropped a shard channel or answered MOVED: the map may be stale.
    private func doubtTopology() {
        factory.doubts.raise()
    }

    // MARK: Connections (loop thread only)

    /// The node serving `key`, if one is known.
    private func owner(of key: Key) -> RedisEndpoint? {
        switch state.value.snapshot.layout {
        case .single(let master): master
        case .slots(let map): map.primary(for: RedisHashSlot(key: key.name))
        }
    }

    /// `keys` by the node that serves them and by kind; in a cluster, shard
    /// channels also by slot, since one `SSUBSCRIBE` may only name one slot's.
    private func batches(_ keys: [Key]) -> Result<[Batch], RedisError> {
        var byNode: [RedisEndpoint: [Key]] = [:]
        for key in keys {
            guard let endpoint = owner(of: key) else {
                return .failure(state.value.snapshot.noPrimaryError(for: RedisHashSlot(key: key.name)))
            }
            byNode[endpoint, default: []].append(key)
        }
        return .success(byNode.flatMap { group($1, at: $0) })
    }

    private func group(_ keys: [Key], at endpoint: RedisEndpoint) -> [Batch] {
        var isCluster = false
        if case .slots = state.value.snapshot.layout { isCluster = true }
        var batches: [String: Batch] = [:]
        for key in keys {
            let slot = isCluster && key.kind == .shardChannel ? "\(RedisHashSlot(key: key.name).value)" : ""
            batches["\(key.kind):\(slot)", default: Batch(endpoint: endpoint, kind: key.kind, keys: [])].keys.append(key)
        }
        return Array(batches.values)
    }

    private func send(_ batch: Batch, subscribe: Bool, id: UInt64, then body: @escaping (Result<RESPValue, RedisError>) -> Void) {
        let command = subscribe ? batch.kind.subscribeCommand : batch.kind.unsubscribeCommand
        connection(to: batch.endpoint).send(
            [.string(command)] + batch.keys.map { .string($0.name) }, replies: batch.keys.count, id: id, waiter: .callback(body))
    }

    private func connection(to endpoint: RedisEndpoint) -> RedisConnection {
        if let connection = state.value.connections[endpoint] { return connection }
        let connection = factory.connection(to: endpoint, on: loop, for: .subscriber, seed: state.value.random.next())
        connection.setHandlers(
            onReady: { [weak self] in self?.ready(endpoint) },
            onMessage: { [weak self] message, kind in self?.deliver(message, kind: kind) },
            onServerUnsubscribe: { [weak self] channel in self?.serverUnsubscribed(channel, at: endpoint) }
        )
        connection.setLostHandler { [weak self] in self?.doubtTopology() }
        state.value.connections[endpoint] = connection
        return connection
    }

    /// Closes connections to nodes that are no longer masters and carry no names.
    private func closeIdleConnections() {
        let inUse = Set(state.value.placement.values).union(state.value.snapshot.shards.map(\.primary))
        for (endpoint, connection) in state.value.connections where !inUse.contains(endpoint) {
            connection.shutdown()
            state.value.connections[endpoint] = nil
        }
    }

    private func deliver(_ message: RedisPubSubMessage, kind: RedisSubscriptionKind) {
        for sink in state.value.subscriptions.sinks(for: message, kind: kind) {
            guard case .dropped = sink.yield(.message(message)) else { continue }
            // The buffer is full and lost its oldest message: as after a
            // reconnect, the consumer must look again at whatever the
            // messages announce. The mark goes after the newest message, so
            // it outlives the ones it stands for (a mark per lost message,
            // as the sequence keeps no state per consumer here).
            sink.yield(.resubscribed)
            if let suppressed = overflowWarnings.admit() {
                factory.logger.warning("a subscriber fell behind and lost messages; it was told to look again",
                                       metadata: ["channel": "\(message.channel)", "suppressed": "\(suppressed)"])
            }
        }
    }

    /// Pings every node carrying names while anyone listens: an unanswered
    /// PING times out and closes the connection, which then reconnects and
    /// resubscribes — a hung node or a silent network is noticed.
    private func armHealthCheck() {
        guard !state.value.healthCheckArmed else { return }
        state.value.healthCheckArmed = true
        scheduleHealthCheck()
    }

    private func scheduleHealthCheck() {
        _ = loop.scheduleTimer(after: healthCheckInterval) { [weak self] in
            guard let self, !state.value.shutDown else { return }
            if !state.value.subscriptions.isEmpty {
                for endpoint in Set(state.value.placement.values) {
                    state.value.connections[endpoint]?.send(["PING"], id: nextInternalID(), waiter: .callback { _ in })
                }
            }
            scheduleHealthCheck()
        }
    }

    private func nextInternalID() -> UInt64 {
        state.value.nextInternalID &+= 1
        return state.value.nextInternalID
    }
}
