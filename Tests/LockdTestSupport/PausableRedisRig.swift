import LockdRedis
import LockdTransport
import LockEngine
import Logging

/// An engine on a fresh `redis-server` that the test may stop and start
/// again (``RedisServerFixture/pause()``, ``RedisServerFixture/resume()``):
/// for what a caller sees while Redis holds a reply back. One loop, the
/// engine's wake-up loop running, the engine ready before `body` runs.
///
/// ```swift
/// try await PausableRedisRig.withEngine(loopPrefix: "first-reply") { engine, server in
///     server.pause()
///     …
///     server.resume()
/// }
/// ```
public enum PausableRedisRig {
    /// Runs `body` with the engine and its server; afterwards the engine's
    /// loop is cancelled, the backend shut down, the loops and the server
    /// stopped. If `body` throws, the server is let run first (a paused one
    /// answers no shutdown), then the error is thrown on.
    public static func withEngine<Result>(
        loopPrefix: String,
        _ body: (LockEngine, RedisServerFixture) async throws -> Result
    ) async throws -> Result {
        let server = try await offThePool { try RedisServerFixture.start() }
        defer { server.stop() }
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: loopPrefix)
        defer { loops.shutdown() }
        let logger = Logger(label: "test")
        let backend = try RedisLockBackend(configuration: try RedisConfiguration(url: server.url), loops: loops, logger: logger)
        let engine = LockEngine(store: backend.store, loops: loops, upkeepLoop: backend.upkeepLoop, logger: logger)
        let runner = Task { await engine.run() }
        let result: Result
        do {
            try await retrying(within: .seconds(10)) { try await engine.checkReady() }
            result = try await body(engine, server)
        } catch {
            server.resume()
            runner.cancel()
            await backend.shutdown()
            throw error
        }
        runner.cancel()
        await backend.shutdown()
        return result
    }
}
