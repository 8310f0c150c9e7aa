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

extension ClusterInstance {
    /// Runs `body` with `count` instances on the shared cluster (healthy and
    /// answering), each on a loop of its own as separate lockd processes
    /// would be, and stops them afterwards.
    static func withInstances<T>(
        _ count: Int, namePrefix: String, engineConfiguration: LockEngineConfiguration = .init(),
        _ body: (RedisClusterFixture, [ClusterInstance]) async throws -> T
    ) async throws -> T {
        let cluster = try await offThePool { try RedisClusterFixture.shared() }
        try await offThePool { try cluster.waitUntilHealthy(within: .seconds(30)) }
        let configuration = try RedisConfiguration(url: cluster.url)
        let loops = try (0..<count).map { _ in try EventLoopGroup(loopCount: 1, namePrefix: namePrefix) }
        defer { for group in loops { group.shutdown() } }
        let instances = try loops.map { try ClusterInstance(configuration: configuration, loops: $0, engineConfiguration: engineConfiguration) }
        do {
            for instance in instances { try await retrying(within: .seconds(20)) { try await instance.engine.checkReady() } }
            let result = try await body(cluster, instances)
            for instance in instances { await instance.stop() }
            return result
        } catch {
            for instance in instances { instance.runner.cancel() }
            throw error
        }
    }
}
