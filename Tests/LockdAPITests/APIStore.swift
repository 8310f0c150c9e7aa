import LockdAPI
import LockdTestSupport

/// The stores the end-to-end tests run lockd on.
enum APIStore: String, CaseIterable, Sendable {
    case memory
    case redis

    /// Runs `body` against a fresh lockd using this store (and, for Redis, a
    /// fresh redis-server that is stopped afterwards).
    func withLockd<Result>(
        configure: (inout LockdConfiguration) -> Void = { _ in },
        _ body: (TestLockd) async throws -> Result
    ) async throws -> Result {
        switch self {
        case .memory:
            return try await TestLockd.with(configure: configure, body)
        case .redis:
            let server = try RedisServerFixture.start()
            defer { server.stop() }
            return try await TestLockd.with(redisURL: server.url, configure: configure, body)
        }
    }
}
