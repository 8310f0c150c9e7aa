import LockEngine
import LockdAPI
import LockdRedis
import LockdTransport
import Logging

/// The stores every lock-semantics test runs against: the same test, once
/// per store, so both keep the same semantics.
///
/// ```swift
/// @Test(arguments: StoreKind.allCases)
/// func releaseFreesTheLock(store: StoreKind) async throws {
///     try await store.withEngine { engine, _ in … }
/// }
/// ```
public enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case memory
    case redis

    public var description: String { rawValue }

    /// A fresh engine over a fresh store of this kind (for Redis, on a fresh
    /// `redis-server`), with its wake-up loop running until `body` returns.
    public func withEngine<Result>(
        configuration: LockEngineConfiguration = .init(),
        _ body: (LockEngine, any LockStore) async throws -> Result
    ) async throws -> Result {
        try await withStore { store, loops, backend in
            let engine = LockEngine(store: store, configuration: configuration, loops: loops,
                                    upkeepLoop: backend?.upkeepLoop, logger: Logger(label: "test"))
            let runner = Task { await engine.run() }
            defer { runner.cancel() }
            try await untilEngineListens(to: store, redis: backend?.client)
            return try await body(engine, store)
        }
    }

    /// A fresh store of this kind (for Redis, on a fresh `redis-server`,
    /// with its backend) and the loops it runs on, closed when `body`
    /// returns: no engine takes its events unless `body` starts one (a
    /// wrapper's engine that must be the only one to hear its wake-ups).
    public func withStore<Result>(
        _ body: (any LockStore, EventLoopGroup, RedisLockBackend?) async throws -> Result
    ) async throws -> Result {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "engine-test")
        defer { loops.shutdown() }
        let store: any LockStore
        var redis: (server: RedisServerFixture, backend: RedisLockBackend)?
        switch self {
        case .memory:
            store = InMemoryLockStore()
        case .redis:
            let server = try await offThePool { try RedisServerFixture.start() }
            let backend = try RedisLockBackend(configuration: try RedisConfiguration(url: server.url), loops: loops, logger: Logger(label: "test"))
            redis = (server, backend)
            store = backend.store
        }
        func tearDown() async {
            await store.close()
            await redis?.backend.shutdown()
            if let server = redis?.server { await offThePool { server.stop() } }
        }
        do {
            if let backend = redis?.backend { try await prepared(backend) }
            let result = try await body(store, loops, redis?.backend)
            await tearDown()
            return result
        } catch {
            await tearDown()
            throw error
        }
    }

    /// Runs `body` against a fresh lockd in this process using this store
    /// (for Redis, on a fresh `redis-server` that is stopped afterwards).
    public func withLockd<Result>(
        logLevel: Logger.Level = .trace,
        configure: (inout TestLockd.Configuration) -> Void = { _ in },
        _ body: (TestLockd) async throws -> Result
    ) async throws -> Result {
        try await withRedis { redis in
            try await TestLockd.with(redis: redis, logLevel: logLevel, configure: configure, body)
        }
    }

    /// Runs `body` against a fresh `lockd` child process using this store.
    /// - Parameter arguments: more command-line arguments for lockd.
    public func withLockdProcess<Result>(
        arguments: [String] = [],
        _ body: (LockdProcess, RedisServerFixture?) async throws -> Result
    ) async throws -> Result {
        try await withRedis { redis in
            let lockd = try await LockdProcess.start((redis.map { ["--redis", $0.url] } ?? []) + arguments)
            do {
                let result = try await body(lockd, redis)
                await lockd.stop()
                return result
            } catch {
                await lockd.stop()
                throw error
            }
        }
    }

    /// A fresh `redis-server` for the Redis store (nil for the in-memory
    /// one), stopped when `body` returns.
    public func withRedis<Result>(_ body: (RedisServerFixture?) async throws -> Result) async throws -> Result {
        guard self == .redis else { return try await body(nil) }
        let server = try await offThePool { try RedisServerFixture.start() }
        do {
            let result = try await body(server)
            await offThePool { server.stop() }
            return result
        } catch {
            await offThePool { server.stop() }
            throw error
        }
    }
}
