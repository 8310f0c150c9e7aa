import LockdTransport
import RESP

/// One node's connections on one event loop.
final class NodeConnections: @unchecked Sendable {
    // Safe to share: `endpoint`, `loop` and `connections` are immutable, and
    // `replication` is read and written only on `loop`'s thread, by methods
    // documented "loop thread only" that the owning router calls there.
    let endpoint: RedisEndpoint
    let loop: EventLoop
    /// Connections for commands; commands from many callers are pipelined on each.
    let connections: [RedisConnection]
    /// The connection for scripts followed by `WAIT`, opened at first use.
    private var replication: RedisConnection?

    init(endpoint: RedisEndpoint, loop: EventLoop, connections: [RedisConnection]) {
        self.endpoint = endpoint
        self.loop = loop
        self.connections = connections
    }

    /// Starts connecting every connection (loop thread only); a connection
    /// that breaks tells `doubts`, one that (re)connects tells `ready`.
    func start(reportingTo doubts: TopologyDoubts, ready: ReadyListeners) {
        for connection in connections {
            connection.setLostHandler { doubts.raise() }
            connection.setHandlers(onReady: { ready.notify() }, onMessage: { _, _ in })
            connection.start()
        }
    }

    /// The connection to send on (loop thread only): the least busy one that
    /// accepts commands, so one being reconnected is skipped.
    @inline(__always)
    func connection() -> RedisConnection {
        guard connections.count > 1 else { return connections[0] }
        var best: RedisConnection?
        for connection in connections where connection.acceptsCommands {
            if best.map({ connection.load < $0.load }) ?? true { best = connection }
        }
        return best ?? connections[0]
    }

    /// The connection for replicated calls, opened now if need be (loop thread only).
    func replicationConnection(_ factory: ConnectionFactory, seed: UInt64) -> RedisConnection {
        if let replication { return replication }
        let connection = factory.connection(to: endpoint, on: loop, for: .replication, seed: seed)
        replication = connection
        connection.setLostHandler { factory.doubts.raise() }
        connection.start()
        return connection
    }

    /// Every connection, the replication one included (loop thread only).
    var all: [RedisConnection] {
        replication.map { connections + [$0] } ?? connections
    }

    /// Closes every connection for good (loop thread only).
    func shutdown() {
        for connection in all { connection.shutdown() }
    }
}

extension RedisConnection.Waiter {
    /// Hands `result` to whoever waits (loop thread only).
    func resume(_ result: Result<RESPValue, RedisError>) {
        switch self {
        case .continuation(let continuation): continuation.resume(returning: result)
        case .callback(let body): body(result)
        case .script(let call): call.received(result)
        }
    }

    /// Whether this waiter reads a plain reply where it arrived (``resume(inPlace:)``).
    var readsInPlace: Bool {
        if case .script = self { true } else { false }
    }

    /// Hands a plain frame (see ``RESPDecoder/plainFrameLength(_:)``), to
    /// be read before this returns, to a waiter that ``readsInPlace``
    /// (loop thread only); any other gets it decoded.
    /// Consumed: the waiter leaves its queue for this call, and its call
    /// is moved out rather than retained for the call and released twice
    /// after (~40 instructions a reply).
    consuming func resume(inPlace frame: UnsafeRawBufferPointer) {
        switch consume self {
        case .script(let call):
            call.received(inPlace: frame)
        case let other:
            var reply = RESPReply(unsafeFrame: frame)
            other.resume(.success(reply.value()))
        }
    }
}
