import LockdTransport
import RESP
import Synchronization

/// One event loop's connections to the Redis nodes in use, and the table
/// that picks a node for each command — the loop's copy of the topology.
///
/// A command submitted on the loop is routed here without a lock: the table
/// is loop-confined and replaced whole when the topology monitor publishes a
/// new ``TopologySnapshot``. Nodes that drop out of the table are closed a
/// little later, so replies to commands already sent still arrive.
final class LoopRouter: @unchecked Sendable {
    // Safe to share: `loop`, `factory` and `nextID` are immutable or atomic;
    // `routing` is touched only on `loop`'s thread — every method that
    // reaches it is documented "loop thread only" and goes through `state`,
    // which checks that in debug builds (as `RedisConnection` does, to keep
    // the per-command path free of a generic accessor).
    let loop: EventLoop
    /// Command ids, unique within this loop. A counter per loop, because
    /// callers on different loops sharing one would bounce its cache line.
    let nextID = Atomic<UInt64>(0)
    private let factory: ConnectionFactory
    private let routing: Routing

    /// Where a command should go.
    enum Target: Sendable {
        /// The master of this slot; nil for any master.
        case slot(RedisHashSlot?)
        /// This node, whatever the table says (redirections).
        case node(RedisEndpoint)
    }

    private final class Routing {
        /// The master of every command (one server, Sentinel); nil while
        /// none is known or in a cluster.
        var single: NodeConnections?
        /// Whether commands are routed by slot (a cluster).
        var isSharded = false
        /// Each slot's master as an index into `pools` (a cluster). Plain
        /// properties rather than an enum's payload: reading them in place
        /// costs no retain per command.
        var owners: [UInt16] = []
        var pools: [NodeConnections] = []
        var snapshot: TopologySnapshot
        var nodes: [RedisEndpoint: NodeConnections] = [:]
        /// Nodes dropped from the table, closed once their retirement delay is over.
        var retiring: [ObjectIdentifier: NodeConnections] = [:]
        var random: SplitMix64
        var isShutDown = false

        init(snapshot: TopologySnapshot, seed: UInt64) {
            self.snapshot = snapshot
            self.random = SplitMix64(seed: seed)
        }
    }

    /// The loop-confined state (loop thread only).
    private var state: Routing {
        assert(loop.inEventLoop, "LoopRouter used off its event loop")
        return routing
    }

    /// A router whose table is `snapshot`; call ``start()`` on the loop.
    ///
    /// A single server's connections exist from here on: a command sent
    /// before ``start()`` has run starts its connection, as it always has.
    init(loop: EventLoop, factory: ConnectionFactory, snapshot: TopologySnapshot, seed: UInt64) {
        self.loop = loop
        self.factory = factory
        let routing = Routing(snapshot: snapshot, seed: seed)
        if case .single(let master?) = snapshot.layout {
            let node = Self.makeNode(at: master, on: loop, factory: factory, random: &routing.random)
            routing.nodes[master] = node
            routing.single = node
        }
        self.routing = routing
    }

    /// Starts connecting the initial table's connections (loop thread only).
    func start() {
        for node in state.nodes.values { node.start(reportingTo: factory.doubts, ready: factory.ready) }
    }

    // MARK: Sending (loop thread only)

    /// The single master's connection — the path of every command to a
    /// single server — or nil while there is none (then ``noSingleMaster``
    /// says why).
    @inline(__always)
    func singleConnection() -> RedisConnection? {
        state.single?.connection()
    }

    /// ``singleConnection()``, not retained: for a caller that lends it
    /// only to a call that cannot change this router's table (its nodes
    /// hold their connections until the table changes, on this loop).
    @inline(__always)
    func singleConnectionUnretained() -> Unmanaged<RedisConnection>? {
        guard let connection = state.single?.connection() else { return nil }
        return Unmanaged.passUnretained(connection)
    }

    /// Why ``singleConnection()`` has none (loop thread only).
    func noSingleMaster() -> RedisError {
        state.isShutDown ? Self.shutDownError : state.snapshot.noPrimaryError(for: nil)
    }

    /// The node `target` names, or why there is none (loop thread only).
    func node(for target: Target) -> Result<NodeConnections, RedisError> {
        let state = self.state
        if state.isShutDown { return .failure(Self.shutDownError) }
        switch target {
        case .node(let endpoint):
            return .success(node(at: endpoint))
        case .slot(let slot):
            guard state.isSharded else {
                return state.single.map { .success($0) } ?? .failure(state.snapshot.noPrimaryError(for: nil))
            }
            let owner = state.owners[Int(slot?.value ?? 0)]
            if owner == ClusterSlotMap.unowned { return .failure(state.snapshot.noPrimaryError(for: slot)) }
            return .success(state.pools[Int(owner)])
        }
    }

    /// Sends one command to `target`'s node (loop thread only); with `now`,
    /// written at once (see ``RedisConnection/send(_:replies:id:waiter:now:)``).
    func send(_ arguments: [RESPBulk], to target: Target, id: UInt64, waiter: RedisConnection.Waiter, now: Bool = false) {
        switch node(for: target) {
        case .success(let node): node.connection().send(arguments, id: id, waiter: waiter, now: now)
        case .failure(let error): waiter.resume(.failure(error))
        }
    }

    /// Sends `commands` back to back on one connection to `target`'s node
    /// (loop thread only); with `replicated`, on its replication connection.
    func sendPipeline(_ commands: [[RESPBulk]], to target: Target, replicated: Bool = false, id: UInt64, waiter: RedisConnection.Waiter) {
        switch node(for: target) {
        case .success(let node):
            let connection = replicated ? node.replicationConnection(factory, seed: state.random.next()) : node.connection()
            connection.sendPipeline(commands, id: id, waiter: waiter)
        case .failure(let error):
            waiter.resume(.failure(error))
        }
    }

    /// Sends each command to its own target's node: one pipeline per node,
    /// all written in this loop iteration (loop thread only). `completion`
    /// gets one result per command; a node's pipeline that failed as a whole
    /// gives each of its commands that error.
    func sendSplit(
        _ commands: [[RESPBulk]], to targets: [Target], id: UInt64,
        completion: @escaping ([Result<RESPValue, RedisError>]) -> Void
    ) {
        var results = [Result<RESPValue, RedisError>?](repeating: nil, count: commands.count)
        // Few nodes: a linear search beats hashing.
        var groups: [(node: NodeConnections, indices: [Int])] = []
        for (index, target) in targets.enumerated() {
            switch node(for: target) {
            case .success(let node):
                if let group = groups.firstIndex(where: { $0.node === node }) {
                    groups[group].indices.append(index)
                } else {
                    groups.append((node, [index]))
                }
            case .failure(let error):
                results[index] = .failure(error)
            }
        }
        if groups.count == 1, groups[0].indices.count == commands.count {
            // All to one node: the pipeline as it is.
            groups[0].node.connection().sendPipeline(commands, id: id, waiter: .callback { result in
                completion(Self.split(result, count: commands.count))
            })
            return
        }
        let gathered = Gathered(results: results, remaining: groups.count, completion: completion)
        if groups.isEmpty { return gathered.finish() }
        for (node, indices) in groups {
            node.connection().sendPipeline(indices.map { commands[$0] }, id: id, waiter: .callback { result in
                for (index, reply) in zip(indices, Self.split(result, count: indices.count)) { gathered.results[index] = reply }
                gathered.remaining -= 1
                if gathered.remaining == 0 { gathered.finish() }
            })
        }
    }

    /// One result per command of a pipeline's reply: its reply or error
    /// reply, or the pipeline's failure for each.
    private static func split(_ result: Result<RESPValue, RedisError>, count: Int) -> [Result<RESPValue, RedisError>] {
        switch result {
        case .success(let reply):
            let replies = reply.array ?? []
            return (0..<count).map { position in
                guard position < replies.count else { return .failure(RedisError(.protocolViolation, message: "a pipelined command got no reply")) }
                let value = replies[position]
                return value.errorMessage.map { .failure(.reply($0)) } ?? .success(value)
            }
        case .failure(let error):
            return Array(repeating: .failure(error), count: count)
        }
    }

    /// Replies of a split pipeline as they arrive (loop thread only).
    private final class Gathered {
        var results: [Result<RESPValue, RedisError>?]
        var remaining: Int
        let completion: ([Result<RESPValue, RedisError>]) -> Void

        init(results: [Result<RESPValue, RedisError>?], remaining: Int, completion: @escaping ([Result<RESPValue, RedisError>]) -> Void) {
            self.results = results
            self.remaining = remaining
            self.completion = completion
        }

        func finish() {
            completion(results.map { $0 ?? .failure(RedisError(.protocolViolation, message: "a pipelined command got no reply")) })
        }
    }

    /// The caller of command `id` gave up (loop thread only); answered
    /// `cancelled` at once if `answeringAtOnce`, else once its reply comes
    /// (see ``RedisConnectionStateMachine/cancel(id:now:answeringAtOnce:)``).
    func cancel(id: UInt64, answeringAtOnce: Bool = false) {
        let state = self.state
        for node in state.nodes.values {
            for connection in node.all { connection.cancel(id: id, answeringAtOnce: answeringAtOnce) }
        }
        for node in state.retiring.values {
            for connection in node.all { connection.cancel(id: id, answeringAtOnce: answeringAtOnce) }
        }
    }

    // MARK: Topology (loop thread only)

    /// Takes `snapshot` as the table, opening connections to new masters and
    /// retiring those to nodes no longer in it.
    func apply(_ snapshot: TopologySnapshot) {
        let state = self.state
        guard !state.isShutDown else { return }
        state.snapshot = snapshot
        var kept: Set<RedisEndpoint> = []
        switch snapshot.layout {
        case .single(let master):
            state.single = master.map { node(at: $0) }
            state.isSharded = false
            if let master { kept.insert(master) }
        case .slots(let map):
            state.pools = map.primaries.map { node(at: $0) }
            state.owners = map.owners
            state.isSharded = true
            kept.formUnion(map.primaries)
        }
        for (endpoint, node) in state.nodes where !kept.contains(endpoint) {
            state.nodes[endpoint] = nil
            retire(node)
        }
    }

    /// The node at `endpoint`, connected to now if it was not yet.
    func node(at endpoint: RedisEndpoint) -> NodeConnections {
        let state = self.state
        if let node = state.nodes[endpoint] { return node }
        let node = Self.makeNode(at: endpoint, on: loop, factory: factory, random: &state.random)
        state.nodes[endpoint] = node
        if !state.isShutDown { node.start(reportingTo: factory.doubts, ready: factory.ready) }
        return node
    }

    private static func makeNode(at endpoint: RedisEndpoint, on loop: EventLoop, factory: ConnectionFactory, random: inout SplitMix64) -> NodeConnections {
        let connections = (0..<max(1, factory.configuration.connectionsPerLoop)).map { _ in
            factory.connection(to: endpoint, on: loop, for: .commands, seed: random.next())
        }
        return NodeConnections(endpoint: endpoint, loop: loop, connections: connections)
    }

    /// The connections a readiness check must find answering: every
    /// connection to every master serving slots, or why there is none.
    func primaryConnections() -> Result<[RedisConnection], RedisError> {
        let state = self.state
        if state.isShutDown { return .failure(Self.shutDownError) }
        let shards = state.snapshot.shards
        if shards.isEmpty { return .failure(state.snapshot.noPrimaryError(for: nil)) }
        if case .slots(let map) = state.snapshot.layout, !map.coversEverySlot {
            let missing = map.unownedSlots.prefix(3).map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ", ")
            return .failure(RedisError(.unreachable, message: "hash slots \(missing) have no Redis master"))
        }
        return .success(shards.flatMap { node(at: $0.primary).connections })
    }

    /// Closes every connection for good (loop thread only).
    func shutdown() {
        let state = self.state
        state.isShutDown = true
        for node in state.nodes.values { node.shutdown() }
        for node in state.retiring.values { node.shutdown() }
        state.nodes = [:]
        state.retiring = [:]
        state.single = nil
        state.pools = []
    }

    private func retire(_ node: NodeConnections) {
        let key = ObjectIdentifier(node)
        state.retiring[key] = node
        _ = loop.scheduleTimer(after: factory.retirementDelay) { [self] in
            guard let node = state.retiring.removeValue(forKey: key) else { return }
            node.shutdown()
        }
    }

    private static let shutDownError = RedisError(.shutDown, message: "the Redis client was shut down")
}
