import LockdRedis
import LockdTransport
import Logging

/// A ``RedisLockStore`` built from one Redis configuration, with the clients
/// it runs on: one for requests on the caller's loops, and one for waiter
/// upkeep (beats, putting waiters back) on a loop and connection of its own,
/// so that request load cannot delay a beat past the liveness window. A
/// `redis+cluster://` deployment gets one liveness key per slot.
///
/// The `lockd` executable and the in-process test lockd build their store
/// this way:
///
/// ```swift
/// let backend = try RedisLockBackend(configuration: try RedisConfiguration(url: url), loops: loops, logger: logger)
/// let engine = LockEngine(store: backend.store, loops: loops, upkeepLoop: backend.upkeepLoop, logger: logger)
/// // … serve …
/// await backend.shutdown()
/// ```
public final class RedisLockBackend: Sendable {
    /// The store.
    public let store: RedisLockStore
    /// The client that serves requests (on the caller's loops).
    public let client: RedisClient
    let livenessClient: RedisClient
    private let livenessLoops: EventLoopGroup
    /// The loops requests run on, each with its own connections (see ``prepare()``).
    let loops: EventLoopGroup

    /// The loop that times the liveness beat: give it to ``LockEngine``.
    public var upkeepLoop: EventLoop { livenessLoops.loops[0] }

    /// Creates the clients and the store; their connections start
    /// connecting at once (``prepare()`` readies them for requests).
    /// - Throws: ``TransportError`` when the upkeep loop cannot start.
    /// - Parameter replicationTimeout: how long a ``Durability/replicated``
    ///   grant waits for a replica (`--replication-timeout-ms`).
    public init(
        configuration: RedisConfiguration, loops: EventLoopGroup, replicationTimeout: Duration = .milliseconds(500),
        metrics: LockMetrics = LockMetrics(), logger: Logger
    ) throws {
        var configuration = configuration
        // The client caps WAIT at this: keep it above the timeout asked for.
        configuration.maximumReplicationWait = max(configuration.maximumReplicationWait, replicationTimeout + .seconds(1))
        let livenessLoops = try EventLoopGroup(loopCount: 1, namePrefix: "lockd-liveness")
        var livenessConfiguration = configuration
        livenessConfiguration.connectionsPerLoop = 1
        self.client = RedisClient(configuration: configuration, eventLoopGroup: loops, logger: logger)
        // Same server, same settings: whatever refuses this client refuses the
        // request client too, which reports it (once per 10 s); saying it
        // twice would only double the error lines.
        var livenessLogger = logger
        livenessLogger.logLevel = .critical
        self.livenessClient = RedisClient(configuration: livenessConfiguration, eventLoopGroup: livenessLoops, logger: livenessLogger)
        self.livenessLoops = livenessLoops
        self.loops = loops
        let isCluster = if case .cluster = configuration.deployment { true } else { false }
        self.store = RedisLockStore(client: client, livenessClient: livenessClient,
                                    livenessKeys: RedisLivenessKeys(for: configuration.deployment),
                                    shardedWakeups: isCluster,
                                    replicationTimeout: replicationTimeout, metrics: metrics, logger: logger)
    }

    /// The channels a store on `deployment` subscribes and publishes on, as
    /// probes for ``RedisPreflight/check(_:timeout:channels:)``: an ACL user
    /// without them gets no wake-ups, so lockd refuses to start with it.
    /// Each probe names a fresh instance channel, on which nobody listens.
    public static func channelProbes(for deployment: RedisDeployment) -> [RedisPreflight.ChannelProbe] {
        let unheard = "\(RedisLockScripts.wakeupChannel):preflight-\(randomHex())"
        let events = [RedisEventChannel.eventsChannel, RedisEventChannel.watchingChannel]
        guard case .cluster = deployment, let name = try? LockName("preflight") else {
            return [RedisPreflight.ChannelProbe(kind: .channel, subscribe: [RedisLockScripts.wakeupChannel, unheard] + events, publish: [unheard])]
        }
        let shardUnheard = RedisLockScripts.shardChannel(name, instance: "preflight-\(randomHex())")
        return [
            RedisPreflight.ChannelProbe(kind: .channel, subscribe: events, publish: [unheard]),
            RedisPreflight.ChannelProbe(kind: .shardChannel, subscribe: [RedisLockScripts.shardChannel(name), shardUnheard], publish: [shardUnheard]),
        ]
    }

    /// Closes both clients and stops the upkeep loop; call it once the
    /// engine has stopped. Later calls do nothing more.
    public func shutdown() async {
        await store.close()
        await client.shutdown()
        await livenessClient.shutdown()
        livenessLoops.shutdown()
    }
}
