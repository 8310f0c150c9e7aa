import LockdRedis
import LockdTestSupport
import LockdTransport
import Logging

/// A client of a Sentinel or Cluster fixture on loops of its own, shut down afterwards.
enum TopologyTestClient {
    /// Runs `body` with a client of `url` on `loops` event loops.
    static func with<Result>(
        url: String, loops: Int = 2, configure: (inout RedisConfiguration) -> Void = { _ in },
        _ body: (RedisClient, EventLoopGroup) async throws -> Result
    ) async throws -> Result {
        let group = try EventLoopGroup(loopCount: loops, namePrefix: "topology-test")
        defer { group.shutdown() }
        var configuration = try RedisConfiguration(url: url)
        configure(&configuration)
        let client = RedisClient(configuration: configuration, eventLoopGroup: group, logger: RedisTestHarness.quietLogger)
        do {
            let result = try await body(client, group)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// Runs `body`, then `restore` off the pool (it blocks) whether or not `body` threw.
    static func restoring(_ restore: @escaping @Sendable () throws -> Void, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            try? await offThePool(restore)
            throw error
        }
        try await offThePool(restore)
    }

    /// Keys unique to one test.
    static func prefix() -> String { "test:\(UInt64.random(in: 0...UInt64.max))" }

    /// `command`'s outcome and how long it took.
    static func timed(_ client: RedisClient, _ command: RedisCommand) async -> (Result<RESPValue, RedisError>, Duration) {
        let start = ContinuousClock.now
        do throws(RedisError) {
            let reply = try await client.send(command)
            return (.success(reply), ContinuousClock.now - start)
        } catch {
            return (.failure(error), ContinuousClock.now - start)
        }
    }
}
