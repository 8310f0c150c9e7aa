import LockEngine
import LockdRedis
import LockdTestSupport
import LockdTransport
import Logging

/// The stores every semantics test runs against.
enum StoreKind: String, CaseIterable, Sendable {
    case memory
    case redis

    /// A fresh engine over a fresh store of this kind, with its wake-up loop
    /// running until `body` returns.
    func withEngine<Result>(
        configuration: LockEngineConfiguration = .init(),
        _ body: (LockEngine, any LockStore) async throws -> Result
    ) async throws -> Result {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "engine-test")
        defer { loops.shutdown() }
        let store: any LockStore
        var redis: (server: RedisServerFixture, client: RedisClient)?
        switch self {
        case .memory:
            store = InMemoryLockStore()
        case .redis:
            let server = try RedisServerFixture.start()
            let client = RedisClient(configuration: try RedisConfiguration(url: server.url), eventLoopGroup: loops, logger: Logger(label: "test"))
            redis = (server, client)
            store = RedisLockStore(client: client, logger: Logger(label: "test"))
        }
        defer { redis?.server.stop() }
        let engine = LockEngine(store: store, configuration: configuration, loops: loops, logger: Logger(label: "test"))
        let runner = Task { await engine.run() }
        defer { runner.cancel() }
        // Give the wake-up subscription a moment to be in place.
        try await Task.sleep(for: .milliseconds(20))
        do {
            let result = try await body(engine, store)
            await store.close()
            await redis?.client.shutdown()
            return result
        } catch {
            await store.close()
            await redis?.client.shutdown()
            throw error
        }
    }
}


/// A lock name no other test uses.
func uniqueName(_ label: String = #function) throws -> LockName {
    let cleaned = label.filter { $0.isLetter || $0.isNumber }
    return try LockName("test:\(cleaned):\(WaiterID.random())")
}
