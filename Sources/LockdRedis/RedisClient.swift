import LockdTransport
import Logging
import RESP
import Synchronization

/// A Redis client whose connections live on the caller's event loops, for a
/// single server, a Sentinel-watched master or a Redis Cluster alike.
///
/// Each loop of the group keeps ``RedisConfiguration/connectionsPerLoop``
/// connections to each master it sends to. A command sent from a task
/// running on loop L goes over one of L's connections, its reply is decoded
/// on L's thread, and the caller resumes there — no hop to another thread.
/// Commands from many callers share a connection and are pipelined.
///
/// Connections reconnect on their own with capped, jittered backoff. While a
/// master is unreachable, its commands fail at once with an `unreachable`
/// error instead of waiting. With Sentinel the client follows failovers
/// (`+switch-master`, `-READONLY`, lost connections); with Cluster it routes
/// each command by its key's hash slot, follows `MOVED` and `ASK`, and
/// retries what cannot have run (see ``send(_:route:idempotent:)``). With
/// ``RedisConfiguration/tls`` set every connection speaks verified TLS.
///
/// ```swift
/// let client = RedisClient(configuration: try RedisConfiguration(url: "redis+cluster://10.0.1.1:7000"),
///                          eventLoopGroup: group, logger: logger)
/// _ = try await client.send(["SET", "greeting", "hello", "PX", 1000])
/// let value = try await client.send(["GET", "greeting"]).string   // "hello"
/// await client.shutdown()
/// ```
public final class RedisClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: RedisConfiguration
    private let group: EventLoopGroup
    let routers: [LoopRouter]
    let publisher: TopologyPublisher
    let monitor: (any TopologyMonitor)?
    /// Whether commands are routed by hash slot (Redis Cluster).
    let isCluster: Bool
    let commandTimeout: UInt64
    private let nextSubscriptionID = Atomic<UInt64>(0)
    private let counters: RedisConnectionCounters
    private let readyListeners: ReadyListeners
    let logger: Logger
    /// Whether script calls go by `FCALL` to a function of the script's
    /// library (see ``RedisFunctionLibrary``); false once this Redis has
    /// shown it has no functions for us (RedisClient+Functions.swift).
    let functionsUsable = Atomic<Bool>(true)
    /// Whether a call of this client is loading a library now (one at a time).
    let libraryLoading = Atomic<Bool>(false)

    /// Creates the client and starts connecting (for Sentinel and Cluster:
    /// finding the master or the slot map).
    ///
    /// Call ``shutdown()`` before shutting the event loop group down.
    public init(configuration: RedisConfiguration, eventLoopGroup: EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.logger = logger
        self.commandTimeout = MonotonicClock.nanoseconds(configuration.commandTimeout)
        var seed = SplitMix64(seed: MonotonicClock.now())
        let factory = ConnectionFactory(configuration: configuration, logger: logger)
        self.counters = factory.counters
        let initial: TopologySnapshot
        switch configuration.deployment {
        case .server:
            initial = TopologySnapshot(layout: .single(RedisEndpoint(host: configuration.host, port: configuration.port)), problem: nil)
        case .sentinel(let settings):
            initial = TopologySnapshot(layout: .single(nil), problem: RedisError(
                .unreachable, message: "still asking the sentinels where the Redis master '\(settings.masterName)' is"))
        case .cluster:
            initial = TopologySnapshot(layout: .slots(ClusterSlotMap()), problem: RedisError(
                .unreachable, message: "still learning which Redis Cluster master serves which slot"))
        }
        let routers = eventLoopGroup.loops.map { LoopRouter(loop: $0, factory: factory, snapshot: initial, seed: seed.next()) }
        let subscriber = RoutedSubscriber(loop: eventLoopGroup.loops[0], factory: factory, snapshot: initial, seed: seed.next())
        let publisher = TopologyPublisher(routers: routers, subscriber: subscriber, initial: initial)
        self.routers = routers
        self.publisher = publisher
        switch configuration.deployment {
        case .server:
            monitor = nil
            isCluster = false
        case .sentinel(let settings):
            monitor = SentinelMonitor(settings: settings, factory: factory, publisher: publisher, seed: seed.next())
            isCluster = false
        case .cluster(let seeds):
            monitor = ClusterMonitor(seeds: seeds, factory: factory, publisher: publisher)
            isCluster = true
        }
        if let monitor {
            factory.doubts.listen { [weak monitor] in
                monitor?.suspect(RedisError(.unreachable, message: "a connection to Redis broke"))
            }
        }
        self.readyListeners = factory.ready
        for router in routers {
            router.loop.execute { router.start() }
        }
        monitor?.start()
    }

    /// Yields each time one of the client's command connections completes its
    /// handshake: when it first connects and after every reconnection, when
    /// Redis may have restarted empty or another server may have taken over.
    /// The stream ends at ``shutdown()``.
    ///
    /// ```swift
    /// for await _ in client.connectionReadyEvents() { resynchronize() }
    /// ```
    public func connectionReadyEvents() -> AsyncStream<Void> {
        readyListeners.stream()
    }

    /// Sends any command and returns its reply.
    ///
    /// In a cluster the command goes to the master of its key's slot: the
    /// ``RedisCommand/route`` it implies unless `route` says otherwise. A
    /// `MOVED` or `ASK` is followed; `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`,
    /// `READONLY` and a connection lost before the command was written are
    /// retried with backoff within the command timeout. A command that may
    /// already have run (the connection broke after it was written) is sent
    /// again only when `idempotent` says that is harmless, and only to a new
    /// master of its slot. With a single server or Sentinel nothing is retried.
    ///
    /// - Parameters:
    ///   - command: the command name and its arguments, such as
    ///     `["SET", .string(key), .string(value), "PX", 100]`.
    ///   - route: where the command goes in a cluster; nil follows the command.
    ///   - idempotent: whether running the command twice does no harm.
    /// A cancelled caller gets `cancelled` at once, even when its command
    /// was written and Redis may still run it (its reply is then read and
    /// dropped: later callers on the connection get their own).
    ///
    /// - Returns: the reply; error replies are thrown instead.
    /// - Throws: ``RedisError``: `refused`/`retryable` for error replies,
    ///   `unreachable`, `timeout`, `cancelled`, `protocolViolation` or `shutDown`.
    nonisolated(nonsending) public func send(
        _ command: RedisCommand, route: RedisRoute? = nil, idempotent: Bool = false
    ) async throws(RedisError) -> RESPValue {
        try await send(command.arguments, route: route ?? command.route, idempotent: idempotent, cancelledCallerWaitsForReply: false)
    }

    /// ``send(_:route:idempotent:)``; with `cancelledCallerWaitsForReply` a
    /// cancelled caller whose command was written is answered only once
    /// Redis replied (or the connection failed): a script call, whose
    /// caller may make up for it with a call that must run after it.
    nonisolated(nonsending) func send(
        _ arguments: [RESPBulk], route: RedisRoute, idempotent: Bool, cancelledCallerWaitsForReply waits: Bool
    ) async throws(RedisError) -> RESPValue {
        let router = router()
        guard isCluster else {
            let result = await roundTrip(on: router, cancelledCallerWaitsForReply: waits) { id, waiter in
                if let connection = router.singleConnection() {
                    connection.send(arguments, id: id, waiter: waiter)
                } else {
                    waiter.resume(.failure(router.noSingleMaster()))
                }
            }
            if case .failure(let error) = result { noticed(error) }
            return try result.get()
        }
        return try await routed(.command(arguments), slot: route.slot, idempotent: idempotent, cancelledCallerWaitsForReply: waits, on: router)
    }

    /// Sends `commands` back to back and returns each one's reply, in order —
    /// one round trip instead of one per command. In a cluster, the commands
    /// are split by master (one pipeline per master, sent together), and
    /// each is redirected or retried on its own as ``send(_:route:idempotent:)`` says.
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
    /// A cancelled caller gets `cancelled` at once, as with ``send(_:route:idempotent:)``
    /// — unless `cancelledCallerWaitsForReply`: then, once any of the
    /// pipeline was written, only when its last reply came (or the
    /// connection failed), for a caller that makes up for a cancelled
    /// pipeline with a call that must run after it (a script's caller).
    ///
    /// - Returns: one result per command: its reply, or `refused`/`retryable`
    ///   for an error reply.
    /// - Throws: ``RedisError`` when the pipeline, or in a cluster one
    ///   master's part of it, failed as a whole (`unreachable`, `timeout`,
    ///   `cancelled`, `protocolViolation`, `shutDown`); then any of its
    ///   commands may or may not have run.
    nonisolated(nonsending) public func pipeline(
        _ commands: [RedisCommand], idempotent: Bool = false, cancelledCallerWaitsForReply: Bool = false
    ) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        try await pipeline(commands.map(\.arguments), slots: isCluster ? commands.map(\.route.slot) : [], idempotent: idempotent,
                           cancelledCallerWaitsForReply: cancelledCallerWaitsForReply)
    }

    /// ``pipeline(_:idempotent:cancelledCallerWaitsForReply:)`` with each command's slot given (cluster only).
    nonisolated(nonsending) func pipeline(
        _ arguments: [[RESPBulk]], slots: [RedisHashSlot?], idempotent: Bool, cancelledCallerWaitsForReply waits: Bool
    ) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        let router = router()
        if isCluster {
            return try await routedPipeline(arguments, slots: slots, idempotent: idempotent, cancelledCallerWaitsForReply: waits, on: router)
        }
        let result = await roundTrip(on: router, cancelledCallerWaitsForReply: waits) { id, waiter in
            if let connection = router.singleConnection() {
                connection.sendPipeline(arguments, id: id, waiter: waiter)
            } else {
                waiter.resume(.failure(router.noSingleMaster()))
            }
        }
        if case .failure(let error) = result { noticed(error) }
        guard case .array(let replies) = try result.get(), replies.count == arguments.count else {
            throw RedisError(.protocolViolation, message: "a pipeline of \(arguments.count) commands got a different number of replies")
        }
        return replies.map { reply in
            if let message = reply.errorMessage { return .failure(.reply(message)) }
            return .success(reply)
        }
    }

    /// Runs `submit` on `router`'s loop and waits for the reply it is given.
    /// A cancelled caller's command is never sent if none of it was written
    /// yet (the caller returns at once); else its reply is read and dropped
    /// when it comes, keeping its place in the connection's reply order, and
    /// the caller returns at once too — or, with `cancelledCallerWaitsForReply`,
    /// only then (see ``RedisConnectionStateMachine/cancel(id:now:answeringAtOnce:)``).
    ///
    /// Always inlined: a nested async call costs the runtime two executor
    /// checks, which shows at hundreds of thousands of calls per second.
    @inline(__always)
    nonisolated(nonsending) func roundTrip(
        on router: LoopRouter, cancelledCallerWaitsForReply waits: Bool,
        _ submit: @escaping @Sendable (UInt64, RedisConnection.Waiter) -> Void
    ) async -> Result<RESPValue, RedisError> {
        if Task.isCancelled { return .failure(RedisError(.cancelled, message: "the caller was cancelled")) }
        let id = router.nextID.wrappingAdd(1, ordering: .relaxed).newValue
        // The form that runs on the caller's executor: `withTaskCancellationHandler`
        // takes an `isolation` and hops to it on entry and back on exit, two
        // executor checks under the task's status lock (~800 instructions a
        // call) for a caller that already runs where it should, on its loop.
        return await _unsafeInheritExecutor_withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                if router.loop.inEventLoop {
                    submit(id, .continuation(continuation))
                } else {
                    router.loop.execute { submit(id, .continuation(continuation)) }
                }
            }
        } onCancel: {
            router.loop.execute { router.cancel(id: id, answeringAtOnce: !waits) }
        }
    }

    /// Runs `script` with `EVALSHA`, and with `EVAL` if Redis answers `-NOSCRIPT`
    /// (after a restart or `SCRIPT FLUSH`, or on a master that never ran it),
    /// which also caches it again — or, when it is a function of a library
    /// and Redis has functions, with `FCALL` (RedisClient+Functions.swift).
    /// In a cluster it goes to the master of the first key's slot (every key
    /// must share it: use one hash tag).
    ///
    /// Unlike ``send(_:route:idempotent:)``, a cancelled caller whose call
    /// was written is answered `cancelled` only once Redis replied (or the
    /// connection failed): whatever it sends to make up for the call (a
    /// give-back after a cancelled acquire) then reaches Redis after it.
    ///
    /// - Parameter idempotent: whether running the script twice does no harm
    ///   (see ``send(_:route:idempotent:)``).
    /// - Throws: ``RedisError``, including `refused` for errors raised by the script.
    nonisolated(nonsending) public func run(
        _ script: RedisScript, keys: [String], arguments: [String], idempotent: Bool = false
    ) async throws(RedisError) -> RESPValue {
        try await run(script, keyCount: keys.count, arguments: RedisScript.encode(keys: keys, arguments: arguments), idempotent: idempotent)
    }

    /// ``run(_:keys:arguments:idempotent:)`` with the keys and arguments
    /// written beforehand, the first `keyCount` of them keys: a caller that
    /// runs a script with many arguments per request writes each once.
    ///
    /// ```swift
    /// var writer = RESPArgumentWriter(capacity: 64)
    /// writer.append(key)
    /// writer.append(30_000)
    /// let reply = try await client.run(script, keyCount: 1, arguments: writer.finish())
    /// ```
    nonisolated(nonsending) public func run(
        _ script: RedisScript, keyCount: Int, arguments: RESPEncodedArguments, idempotent: Bool = false
    ) async throws(RedisError) -> RESPValue {
        let route = scriptRoute(keyCount: keyCount, arguments: arguments)
        return try await runScript(script, route: route) { form throws(RedisError) in
            // A script's caller may make up for a cancelled call (a give-back
            // after an acquire): answered only once the call's reply came.
            try await send(script.call(keyCount: keyCount, arguments: arguments, form: form).arguments, route: route, idempotent: idempotent,
                           cancelledCallerWaitsForReply: true)
        }
    }

    /// A script call's route: its first key's slot (only a cluster looks).
    func scriptRoute(keyCount: Int, arguments: RESPEncodedArguments) -> RedisRoute {
        guard isCluster, keyCount > 0, let key = arguments.first else { return .anyPrimary }
        return .slot(RedisHashSlot(key: key))
    }

    /// Runs `script` once per call in one
    /// ``pipeline(_:idempotent:cancelledCallerWaitsForReply:)`` (by
    /// `FCALL` where Redis has functions; calls that found none run again
    /// by `EVALSHA`); calls that met `-NOSCRIPT` run again in a further
    /// one, the first of them by `EVAL` (which caches the script for the
    /// rest on its master).
    ///
    /// ```swift
    /// let replies = try await client.run(heartbeat, pipelined: names.map { (keys: [queueKey($0)], arguments: [id]) })
    /// ```
    ///
    /// - Returns: one result per call, in order; errors raised by the script are `refused`.
    /// - Throws: ``RedisError`` when a pipeline (or a master's part of it) failed as a whole.
    nonisolated(nonsending) public func run(
        _ script: RedisScript, pipelined calls: [(keys: [String], arguments: [String])], idempotent: Bool = false
    ) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        let slots = isCluster ? calls.map { $0.keys.first.map { RedisHashSlot(key: $0) } } : []
        let form = firstForm(script)
        var results = try await pipeline(
            calls.map { script.call(keys: $0.keys, arguments: $0.arguments, form: form).arguments }, slots: slots, idempotent: idempotent,
            cancelledCallerWaitsForReply: true)
        if form == .function {
            // Calls that found no function (or were refused -OOM) did not
            // run: they go by EVALSHA (a single call loads the library, see runScript).
            let missed = results.indices.filter {
                if case .failure(let error) = results[$0] { goesByEvalsha(after: error) } else { false }
            }
            if !missed.isEmpty {
                let retried = try await pipeline(
                    missed.map { script.call(keys: calls[$0].keys, arguments: calls[$0].arguments, form: .cached).arguments },
                    slots: isCluster ? missed.map { slots[$0] } : [], idempotent: idempotent, cancelledCallerWaitsForReply: true)
                for (index, result) in zip(missed, retried) { results[index] = result }
            }
        }
        // A call that met NOSCRIPT did not run, so running it again is safe.
        // Each round's first EVAL caches the script on its master; in a
        // cluster, masters that still lack it answer NOSCRIPT again, so a
        // round per master at most.
        for _ in 0...max(1, publisher.snapshot.shards.count) {
            let uncached = results.indices.filter {
                if case .failure(let error) = results[$0] { error.code == "NOSCRIPT" } else { false }
            }
            guard let first = uncached.first else { break }
            let retried = try await pipeline(
                uncached.map { script.call(keys: calls[$0].keys, arguments: calls[$0].arguments, cached: $0 != first).arguments },
                slots: isCluster ? uncached.map { slots[$0] } : [], idempotent: idempotent, cancelledCallerWaitsForReply: true)
            for (index, result) in zip(uncached, retried) { results[index] = result }
        }
        return results
    }

    /// How the client's connections to Redis stand now (connections to
    /// sentinels are not counted): for readiness and metrics.
    public var connectionStats: RedisConnectionStats { counters.stats }

    /// Subscribes to `names` on the node that serves them: the server, the
    /// Sentinel master, or in a cluster the master of each name's hash slot
    /// (required for shard channels; classic channels and patterns are
    /// spread over the masters, each of which hears every `PUBLISH`).
    ///
    /// Returns once Redis has confirmed every name, so a message published
    /// after this returns is delivered. After a reconnect, a failover or a
    /// resharding the client subscribes again where each name now belongs
    /// and the sequence yields `.resubscribed` (messages published in
    /// between are lost).
    ///
    /// ```swift
    /// // One shard channel per hash slot: every master carries its slots' channels.
    /// let channels = (0..<RedisHashSlot.count).map { "lockd:wake:{\(RedisHashSlot($0).hashTag)}" }
    /// let wakeups = try await client.subscribe(to: channels, kind: .shardChannel)
    /// ```
    ///
    /// - Parameters:
    ///   - names: channel names, or glob patterns for `.pattern`.
    ///   - kind: `SUBSCRIBE` (default), `PSUBSCRIBE` or `SSUBSCRIBE`.
    /// - Throws: ``RedisError`` when a node is unreachable or refuses.
    public func subscribe(to names: [String], kind: RedisSubscriptionKind = .channel) async throws(RedisError) -> RedisSubscription {
        try await publisher.subscriber.subscribe(to: names, kind: kind, id: nextSubscriptionID.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    /// The loop whose thread reads every subscription's messages: a task
    /// that consumes them with this executor preference gets each message
    /// without a hop to another thread.
    public var subscriptionLoop: EventLoop { publisher.subscriber.loop }

    /// What the client has seen of failovers, redirections and topology
    /// refreshes since it started (zero for a single server).
    public var topologyStatistics: RedisTopologyStatistics {
        publisher.counters.statistics
    }

    /// Closes every connection; waiting commands fail with `shutDown` and
    /// subscriptions end. Later calls fail at once.
    public func shutdown() async {
        await monitor?.shutdown()
        for router in routers {
            await onLoop(router) { router.shutdown() }
        }
        await publisher.subscriber.shutdown()
        readyListeners.finish()
    }

    // MARK: Helpers

    /// The caller's own loop's router, or the next one in turn for callers off the loops.
    func router() -> LoopRouter {
        if routers.count == 1 { return routers[0] }
        for router in routers where router.loop.inEventLoop { return router }
        let loop = group.next()
        return routers.first { $0.loop === loop } ?? routers[0]
    }

    /// ``router()``, not retained: for a caller that holds this client for
    /// as long as it uses the router — the client holds each of its
    /// routers (`routers`, a `let`) for its whole life.
    @inline(__always)
    func routerUnretained() -> Unmanaged<LoopRouter> {
        if routers.count == 1 { return Unmanaged.passUnretained(routers[0]) }
        return Unmanaged.passUnretained(router())
    }

    /// Runs `body` on `router`'s loop and returns what it returns.
    func onLoop<T: Sendable>(_ router: LoopRouter, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            router.loop.execute { continuation.resume(returning: body()) }
        }
    }

    /// A command failed: with Sentinel or Cluster, failures that may mean
    /// the master moved make the monitor look again.
    func noticed(_ error: RedisError) {
        guard let monitor else { return }
        switch error.kind {
        case .unreachable, .timeout, .retryable: monitor.suspect(error)
        default: break
        }
    }
}
