import LockdTransport
import Logging
import RESP
import Synchronization

/// A Redis client whose connections live on the caller's event loops.
///
/// Each loop of the group keeps ``RedisConfiguration/connectionsPerLoop``
/// connections. A command sent from a task running on loop L goes over one of
/// L's connections, its reply is decoded on L's thread, and the caller resumes
/// there — no hop to another thread. Commands from many callers share a
/// connection and are pipelined; replies are matched in order.
///
/// Connections reconnect on their own with capped, jittered backoff. While a
/// loop has no usable connection, commands fail at once with an
/// `unreachable` error instead of waiting. With ``RedisConfiguration/tls``
/// set (a `rediss://` URL) every connection speaks verified TLS.
///
/// ```swift
/// let client = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:6379"),
///                          eventLoopGroup: group, logger: logger)
/// _ = try await client.send(["SET", "greeting", "hello", "PX", 1000])
/// let value = try await client.send(["GET", "greeting"]).string   // "hello"
/// await client.shutdown()
/// ```
public final class RedisClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: RedisConfiguration
    private let group: EventLoopGroup
    private let pools: [LoopPool]
    private let subscriber: RedisSubscriber
    private let nextSubscriptionID = Atomic<UInt64>(0)

    /// Creates the client and starts connecting every loop's connections.
    ///
    /// Call ``shutdown()`` before shutting the event loop group down.
    public init(configuration: RedisConfiguration, eventLoopGroup: EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.group = eventLoopGroup
        var seed = SplitMix64(seed: MonotonicClock.now())
        // Read the TLS files once; if they are unusable, every connection
        // attempt fails with the reason (and lockd checks them at start-up).
        let tlsContext = configuration.tls.map { tls in
            Result { () throws(TLSError) in try TLSClientContext(configuration: tls) }
                .mapError { RedisError(.invalidConfiguration, message: "TLS settings for Redis are unusable: \($0.message)") }
        }
        var pools: [LoopPool] = []
        for loop in eventLoopGroup.loops {
            let connections = (0..<max(1, configuration.connectionsPerLoop)).map { _ in
                RedisConnection(configuration: configuration, loop: loop, isSubscriber: false, seed: seed.next(), tlsContext: tlsContext, logger: logger)
            }
            pools.append(LoopPool(loop: loop, connections: connections))
        }
        self.pools = pools
        let subscriberConnection = RedisConnection(
            configuration: configuration, loop: eventLoopGroup.loops[0], isSubscriber: true, seed: seed.next(),
            tlsContext: tlsContext, logger: logger)
        self.subscriber = RedisSubscriber(connection: subscriberConnection, healthCheckInterval: configuration.pubSubHealthCheckInterval)
        for pool in pools {
            pool.loop.execute { for connection in pool.connections { connection.start() } }
        }
    }

    /// Sends any command and returns its reply.
    ///
    /// - Parameter command: the command name and its arguments, such as
    ///   `["SET", .string(key), .string(value), "PX", 100]`.
    /// - Returns: the reply; error replies are thrown instead.
    /// - Throws: ``RedisError``: `refused`/`retryable` for error replies,
    ///   `unreachable`, `timeout`, `cancelled`, `protocolViolation` or `shutDown`.
    nonisolated(nonsending) public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        let arguments = command.arguments
        let pool = pool()
        return try await roundTrip(on: pool) { id, waiter in
            pool.connection().send(arguments, id: id, waiter: waiter)
        }.get()
    }

    /// Sends `commands` back to back on one connection and returns each one's
    /// reply, in order — one round trip instead of one per command.
    ///
    /// A pipeline is not a transaction: other callers' commands may run
    /// between these (wrap them in `MULTI`/`EXEC` for that). An error reply
    /// fails only its own command; its neighbours still run.
    ///
    /// ```swift
    /// let replies = try await client.pipeline([["INCR", "hits"], ["GET", "greeting"]])
    /// let hits = try replies[0].get().int
    /// ```
    ///
    /// - Returns: one result per command: its reply, or `refused`/`retryable`
    ///   for an error reply.
    /// - Throws: ``RedisError`` when the pipeline as a whole failed
    ///   (`unreachable`, `timeout`, `cancelled`, `protocolViolation`, `shutDown`);
    ///   then any of its commands may or may not have run.
    nonisolated(nonsending) public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        let arguments = commands.map(\.arguments)
        let pool = pool()
        let reply = try await roundTrip(on: pool) { id, waiter in
            pool.connection().sendPipeline(arguments, id: id, waiter: waiter)
        }.get()
        guard case .array(let replies) = reply, replies.count == commands.count else {
            throw RedisError(.protocolViolation, message: "a pipeline of \(commands.count) commands got a different number of replies")
        }
        return replies.map { reply in
            if let message = reply.errorMessage { return .failure(.reply(message)) }
            return .success(reply)
        }
    }

    /// Runs `submit` on `pool`'s loop and waits for the reply it is given;
    /// a cancelled caller returns at once and poisons the connection if its
    /// command was already written.
    ///
    /// Always inlined: a nested async call costs the runtime two executor
    /// checks, which shows at hundreds of thousands of calls per second.
    @inline(__always)
    nonisolated(nonsending) private func roundTrip(
        on pool: LoopPool, _ submit: @escaping @Sendable (UInt64, RedisConnection.Waiter) -> Void
    ) async throws(RedisError) -> Result<RESPValue, RedisError> {
        if Task.isCancelled { throw RedisError(.cancelled, message: "the caller was cancelled") }
        let id = pool.nextID.wrappingAdd(1, ordering: .relaxed).newValue
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                if pool.loop.inEventLoop {
                    submit(id, .continuation(continuation))
                } else {
                    pool.loop.execute { submit(id, .continuation(continuation)) }
                }
            }
        } onCancel: {
            pool.loop.execute { for connection in pool.connections { connection.cancel(id: id) } }
        }
    }

    /// Runs `script` with `EVALSHA`, and with `EVAL` if Redis answers `-NOSCRIPT`
    /// (after a restart or `SCRIPT FLUSH`), which also caches it again.
    ///
    /// - Throws: ``RedisError``, including `refused` for errors raised by the script.
    nonisolated(nonsending) public func run(_ script: RedisScript, keys: [String], arguments: [String]) async throws(RedisError) -> RESPValue {
        do {
            return try await send(script.call(keys: keys, arguments: arguments, cached: true))
        } catch where error.code == "NOSCRIPT" {
            return try await send(script.call(keys: keys, arguments: arguments, cached: false))
        }
    }

    /// Runs `script` once per call in one ``pipeline(_:)``; calls that met
    /// `-NOSCRIPT` run again in a second one, the first of them by `EVAL`
    /// (which caches the script for the rest).
    ///
    /// ```swift
    /// let replies = try await client.run(heartbeat, pipelined: names.map { (keys: [queueKey($0)], arguments: [id]) })
    /// ```
    ///
    /// - Returns: one result per call, in order; errors raised by the script are `refused`.
    /// - Throws: ``RedisError`` when a pipeline as a whole failed.
    nonisolated(nonsending) public func run(
        _ script: RedisScript, pipelined calls: [(keys: [String], arguments: [String])]
    ) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        var results = try await pipeline(calls.map { script.call(keys: $0.keys, arguments: $0.arguments, cached: true) })
        // A call that met NOSCRIPT did not run, so running it again is safe.
        // The first one's EVAL caches the script for the EVALSHAs behind it.
        let uncached = results.indices.filter {
            if case .failure(let error) = results[$0] { error.code == "NOSCRIPT" } else { false }
        }
        guard let first = uncached.first else { return results }
        let retried = try await pipeline(uncached.map {
            script.call(keys: calls[$0].keys, arguments: calls[$0].arguments, cached: $0 != first)
        })
        for (index, result) in zip(uncached, retried) { results[index] = result }
        return results
    }

    /// Checks that Redis answers on every connection of every loop, so that
    /// success means any caller's next command has a working connection.
    /// - Throws: ``RedisError`` when one does not, or answers something other than PONG.
    nonisolated(nonsending) public func ping() async throws(RedisError) {
        // All at once: a connection busy with a long pipeline must not make
        // the whole check outlast a readiness probe's timeout.
        let replies = await withTaskGroup(of: Result<RESPValue, RedisError>.self) { group in
            for pool in pools {
                for connection in pool.connections {
                    group.addTask(executorPreference: pool.loop) {
                        do throws(RedisError) {
                            return try await self.roundTrip(on: pool) { id, waiter in connection.send(["PING"], id: id, waiter: waiter) }
                        } catch {
                            return .failure(error)
                        }
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for reply in replies where try reply.get().string != "PONG" {
            throw RedisError(.protocolViolation, message: "PING answered with something other than PONG")
        }
    }

    /// Subscribes to `names` on the client's dedicated pub/sub connection.
    ///
    /// Returns once Redis has confirmed every name, so a message published
    /// after this returns is delivered. After a reconnect the client
    /// subscribes again by itself and the sequence yields `.resubscribed`
    /// (messages published while disconnected are lost).
    ///
    /// - Parameters:
    ///   - names: channel names, or glob patterns for `.pattern`.
    ///   - kind: `SUBSCRIBE` (default), `PSUBSCRIBE` or `SSUBSCRIBE`.
    /// - Throws: ``RedisError`` when Redis is unreachable or refuses.
    public func subscribe(to names: [String], kind: RedisSubscriptionKind = .channel) async throws(RedisError) -> RedisSubscription {
        try await subscriber.subscribe(to: names, kind: kind, id: nextSubscriptionID.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    /// Closes every connection; waiting commands fail with `shutDown` and
    /// subscriptions end. Later calls fail at once.
    public func shutdown() async {
        for pool in pools {
            await pool.onLoop { for connection in pool.connections { connection.shutdown() } }
        }
        await subscriber.shutdown()
    }

    // MARK: Pools

    /// The caller's own loop's pool, or the next one in turn for callers off the loops.
    private func pool() -> LoopPool {
        if pools.count == 1 { return pools[0] }
        for pool in pools where pool.loop.inEventLoop { return pool }
        let loop = group.next()
        return pools.first { $0.loop === loop } ?? pools[0]
    }
}

/// One loop's connections.
final class LoopPool: Sendable {
    let loop: EventLoop
    let connections: [RedisConnection]
    /// Command ids, unique within this pool. A counter per pool, because
    /// callers on different loops sharing one would bounce its cache line.
    let nextID = Atomic<UInt64>(0)

    init(loop: EventLoop, connections: [RedisConnection]) {
        self.loop = loop
        self.connections = connections
    }

    /// The connection to send on (loop thread only): the least busy one that
    /// accepts commands, so one being reconnected is skipped.
    func connection() -> RedisConnection {
        guard connections.count > 1 else { return connections[0] }
        var best: RedisConnection?
        for connection in connections where connection.acceptsCommands {
            if best.map({ connection.load < $0.load }) ?? true { best = connection }
        }
        return best ?? connections[0]
    }

    /// Runs `body` on the loop and waits for it.
    func onLoop(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute {
                body()
                continuation.resume()
            }
        }
    }
}
