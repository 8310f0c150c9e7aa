import LockdRedis
import LockdTestSupport
import LockdTransport
import LockEngine
import Logging
import Testing

/// A store call answered by callback (its reply read on the loop, outside
/// the caller's task) that fails while calls are failing warns, as an
/// awaited one does — whether or not the logger has a metadata provider
/// (an embedder's may have none) — and names no secret.
@Suite struct StoreFailureWarningTests {
    @Test func aFailingCallbackCallWarnsWithoutAMetadataProvider() async throws {
        let password = "review1-warning-secret"
        let redis = try await offThePool { try RedisServerFixture.start(arguments: ["--requirepass", password]) }
        defer { redis.stop() }
        let logs = CapturedLogs()
        let logger = Logger(label: "store-warning") { _ in CapturingLogHandler(logs: logs) }
        #expect(logger.handler.metadataProvider == nil)
        let loops = try EventLoopGroup(loopCount: 1)
        defer { loops.shutdown() }
        let backend = try RedisLockBackend(configuration: try RedisConfiguration(url: "redis://:\(password)@127.0.0.1:\(redis.port)"),
                                           loops: loops, logger: logger)
        let store = backend.store
        // Served once: connected and authenticated.
        _ = try await store.status(of: LockName(uniqueLockName()))
        await offThePool { redis.stop() }

        // The first failure of a run logs at debug (its line could name no
        // request); the next, started while calls fail, warns.
        for _ in 0..<2 {
            let attempt = AcquireAttempt(name: try LockName(uniqueLockName()), token: .random(), ttlMs: 10_000, owner: nil, waiter: nil)
            let outcome = await withCheckedContinuation { continuation in
                store.acquire(attempt, cancellation: CallCancellation()) { continuation.resume(returning: $0) }
            }
            guard case .failure(.unavailable) = outcome else {
                Issue.record("expected unavailable, got \(outcome)")
                break
            }
        }
        let lines = logs.all.filter { $0.contains("lock store call failed") }
        #expect(lines.filter { $0.hasPrefix("warning ") }.count == 1, "\(lines)")
        #expect(!logs.all.contains { $0.contains(password) })
        await store.close()
        await backend.shutdown()
    }
}
