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
        let logs = CapturedLogs()
        let logger = Logger(label: "store-warning") { _ in CapturingLogHandler(logs: logs) }
        #expect(logger.handler.metadataProvider == nil)
        try await failTwiceByCallback(logger: logger, password: password)
        let lines = logs.all.filter { $0.contains("lock store call failed") }
        #expect(lines.filter { $0.hasPrefix("warning ") }.count == 1, "\(lines)")
        #expect(!logs.all.contains { $0.contains(password) })
    }

    /// The warning is logged on the loop, outside the caller's task: what
    /// the caller's task locals add (in lockd, the request's id) is taken
    /// when the call starts, so the line still names the caller.
    @Test func aFailingCallbackCallWarnsWithItsCallersMetadata() async throws {
        let logs = CapturedLogs()
        let provider = Logger.MetadataProvider { Caller.name.map { ["caller": .string($0)] } ?? [:] }
        let logger = Logger(label: "store-warning") { _ in CapturingLogHandler(logs: logs, metadataProvider: provider) }
        try await failTwiceByCallback(logger: logger, password: "review1-warning-secret", caller: { "caller-\($0)" })
        let warnings = logs.all.filter { $0.hasPrefix("warning ") && $0.contains("lock store call failed") }
        #expect(warnings.count == 1 && warnings.allSatisfy { $0.contains("caller-1") }, "\(warnings)")
    }

    private enum Caller {
        @TaskLocal static var name: String?
    }

    /// Two acquires answered by callback fail on a store whose Redis has
    /// stopped: the first of the run logs at debug (its line could name no
    /// request); the next, started while calls fail, warns. `caller` names
    /// the task of each.
    private func failTwiceByCallback(logger: Logger, password: String, caller: (Int) -> String? = { _ in nil }) async throws {
        let redis = try await offThePool { try RedisServerFixture.start(arguments: ["--requirepass", password]) }
        defer { redis.stop() }
        let loops = try EventLoopGroup(loopCount: 1)
        defer { loops.shutdown() }
        let backend = try RedisLockBackend(configuration: try RedisConfiguration(url: "redis://:\(password)@127.0.0.1:\(redis.port)"),
                                           loops: loops, logger: logger)
        let store = backend.store
        // Served once: connected and authenticated.
        _ = try await store.status(of: LockName(uniqueLockName()))
        await offThePool { redis.stop() }

        for index in 0..<2 {
            let attempt = AcquireAttempt(name: try LockName(uniqueLockName()), token: .random(), ttlMs: 10_000, owner: nil, waiter: nil)
            let outcome = await Caller.$name.withValue(caller(index)) {
                await withCheckedContinuation { continuation in
                    store.acquire(attempt, cancellation: CallCancellation()) { continuation.resume(returning: $0) }
                }
            }
            guard case .failure(.unavailable) = outcome else {
                Issue.record("expected unavailable, got \(outcome)")
                break
            }
        }
        await store.close()
        await backend.shutdown()
    }
}
