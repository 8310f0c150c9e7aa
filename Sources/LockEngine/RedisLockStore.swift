import LockdRedis
import Logging
import LockdTransport
import RESP
import Synchronization

/// The product's ``LockStore``: every lease in Redis, shared by all lockd
/// instances that use the same Redis. Each operation is one script call.
///
/// Each store is one lockd instance with a random id; its waiters' queue
/// entries carry that id, and ``beat(names:)`` keeps the id alive (see
/// ``RedisLockScripts``). A waiter counts as gone when its instance has not
/// beaten for ``livenessWindowMs``.
///
/// ```swift
/// let client = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:6379"), eventLoopGroup: loops, logger: logger)
/// let store = RedisLockStore(client: client, logger: logger)
/// ```
public final class RedisLockStore: LockStore {
    let client: RedisClient
    let livenessClient: RedisClient
    let livenessKeys: RedisLivenessKeys
    /// How long an instance counts as alive after a beat, in milliseconds:
    /// longer than the engine's beat interval plus the longest stall (a
    /// paused VM, a starved CPU) that must not cost a waiter its place.
    /// One constant for every instance, as the scripts read it too.
    public static let livenessWindowMs: Int64 = 600
    let livenessWindowArgument = String(RedisLockStore.livenessWindowMs)
    /// How long a `replicated` grant or renewal waits for a replica's
    /// acknowledgement (`--replication-timeout-ms`).
    let replicationTimeout: Duration
    /// This instance's id in the queues.
    let instanceID: String
    let logger: Logger
    let metrics: LockMetrics
    /// When a failure was last logged at warning level (monotonic nanoseconds).
    let lastWarning = Atomic<UInt64>(0)
    /// Set by a failed script call answered by callback, cleared by a served
    /// one: while set, such calls take their caller's log metadata when they
    /// start (see ``callStart(at:)``).
    let callsFailing = Atomic<Bool>(false)
    /// The wake-up subscription failing again and again (a channel the
    /// Redis user may not use, a node down) warns now and then.
    let subscriptionWarnings = Throttle(interval: .seconds(10))
    /// Dates Redis's grants on this process's monotonic clock.
    let clockOffset = StoreClockOffset()
    /// Lock events to and from the other instances (RedisLockStore+Events.swift).
    let eventChannel: RedisEventChannel

    /// The scripts, in the deployment's variant (see ``RedisLockScripts/sharded(_:)``),
    /// each also a function of the variant's library (``RedisLockScripts/library(sharded:)``).
    struct Scripts: Sendable {
        var acquire, renew, release, forceRelease, status, removeWaiter, beat, reconcile: RedisScript

        init(sharded: Bool) {
            let library = RedisLockScripts.library(sharded: sharded)
            func script(_ script: RedisLockScripts.Script) -> RedisScript {
                RedisScript(sharded ? RedisLockScripts.sharded(script.text) : script.text, function: library.function(script.name))
            }
            acquire = script(RedisLockScripts.acquire)
            renew = script(RedisLockScripts.renew)
            release = script(RedisLockScripts.release)
            forceRelease = script(RedisLockScripts.forceRelease)
            status = script(RedisLockScripts.status)
            removeWaiter = script(RedisLockScripts.removeWaiter)
            beat = script(RedisLockScripts.beat)
            reconcile = script(RedisLockScripts.reconcile)
        }

        static let classic = Scripts(sharded: false)
        static let sharded = Scripts(sharded: true)
    }
    let scripts: Scripts
    /// In a Redis Cluster: the per-name shard channels this instance
    /// listens on (nil: one classic channel for every name).
    let shardWakeups: RedisShardWakeups?
    /// The engine's handler while ``deliverEvents(to:)`` runs: a release
    /// hands it the wake-ups of this instance's own waiters from the
    /// script's reply (see ``endLease(_:token:givenBack:cancellation:completion:)``).
    let ownWakeups = Mutex<EventHandler?>(nil)

    /// A handler in a struct: a bare closure in a generic `Mutex` is
    /// reabstracted on every `withLock`, and as its `inout` value is
    /// written back each access wraps it in two more thunks — a chain that
    /// grows with every release until the stack overflows. Read out whole
    /// too: its closure returned alone through `withLock`'s generic result
    /// is wrapped in a thunk on the way out and another on the way in.
    struct EventHandler: Sendable {
        let handle: @Sendable (StoreEvent) -> Void
    }

    /// Creates a store over `client`.
    /// - Parameters:
    ///   - livenessClient: carries beats and reconciliation; give it a loop
    ///     and connection of its own so that request load cannot delay a
    ///     beat past the liveness window (default: `client`).
    ///   - livenessKeys: ``RedisLivenessKeys/shared`` on one server,
    ///     ``RedisLivenessKeys/perSlot`` in a Redis Cluster.
    ///   - shardedWakeups: true in a Redis Cluster: wake-ups go on per-name
    ///     shard channels (`SPUBLISH`/`SSUBSCRIBE`, Redis 7) in the name's
    ///     slot, subscribed while this instance has waiters on the name,
    ///     instead of one classic channel that the cluster broadcasts to
    ///     every node.
    ///   - replicationTimeout: how long a ``Durability/replicated`` grant
    ///     waits for a replica (at most the client's
    ///     ``RedisConfiguration/maximumReplicationWait``).
    public init(
        client: RedisClient, livenessClient: RedisClient? = nil, livenessKeys: RedisLivenessKeys = .shared,
        shardedWakeups: Bool = false, replicationTimeout: Duration = .milliseconds(500), metrics: LockMetrics = LockMetrics(), logger: Logger
    ) {
        self.client = client
        self.livenessClient = livenessClient ?? client
        self.livenessKeys = livenessKeys
        let instanceID = randomHex()
        self.instanceID = instanceID
        self.scripts = shardedWakeups ? .sharded : .classic
        self.shardWakeups = shardedWakeups ? RedisShardWakeups(client: client, instanceID: instanceID, logger: logger) : nil
        self.replicationTimeout = replicationTimeout
        self.metrics = metrics
        self.logger = logger
        let countsEverySubscriber = if case .shared = livenessKeys { true } else { false }
        self.eventChannel = RedisEventChannel(client: client, instanceID: instanceID, countsEverySubscriber: countsEverySubscriber, logger: logger)
    }

    /// A Redis deployment's primaries may have replicas to confirm grants on.
    public var canReplicate: Bool { true }

    public func checkReady() async throws(LockError) {
        do {
            try await client.ping()
        } catch where error.needsSettingsFixed {
            // Readiness says why Redis refuses lockd (a password, a database,
            // a certificate), in words: an operator has a setting to fix.
            throw .unavailable(error.description)
        } catch {
            throw unavailable(error)
        }
    }

    /// Ends the shard subscriptions; the client belongs to whoever made it.
    public func close() async { shardWakeups?.close() }
}
