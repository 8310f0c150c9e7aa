import LockdRedis
import LockdTestSupport
import LockdTransport
import LockEngine
import Logging
import Synchronization

/// One lockd instance's engine over a Redis Cluster, built as lockd builds
/// it from a `redis+cluster://` URL (``RedisLockBackend``), its upkeep
/// running until ``runner`` is cancelled.
final class ClusterInstance: Sendable {
    let backend: RedisLockBackend
    let engine: LockEngine
    private let task: Mutex<Task<Void, Never>>

    init(configuration: RedisConfiguration, loops: EventLoopGroup, engineConfiguration: LockEngineConfiguration = .init()) throws {
        let logger = Logger(label: "test")
        backend = try RedisLockBackend(configuration: configuration, loops: loops, logger: logger)
        engine = LockEngine(store: backend.store, configuration: engineConfiguration, loops: loops, upkeepLoop: backend.upkeepLoop, logger: logger)
        let engine = engine
        task = Mutex(Task { await engine.run() })
    }

    var runner: Task<Void, Never> { task.withLock { $0 } }

    /// Beats again after ``runner`` was cancelled.
    func restart() {
        let engine = engine
        task.withLock { $0 = Task { await engine.run() } }
    }

    func stop() async {
        runner.cancel()
        await runner.value
        await backend.shutdown()
    }

    /// A name's shard channel (see ``RedisLockScripts``).
    static func shardChannel(_ name: LockName) -> String { "lockd:waiting:{\(name.value)}" }

    /// How many clients listen on `name`'s shard channel at the node on `port`.
    static func listeners(on name: LockName, atPort port: UInt16) -> Int {
        RedisAdminClient.call(port: port, "PUBSUB", "SHARDNUMSUB", shardChannel(name))?.array?.last?.int ?? -1
    }
}
