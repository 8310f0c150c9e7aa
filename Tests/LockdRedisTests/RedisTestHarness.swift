import LockdRedis
import LockdTestSupport
import LockdTransport
import Logging

/// A real redis-server, event loops and a client on them, torn down afterwards.
struct RedisTestHarness {
    let server: RedisServerFixture
    let group: EventLoopGroup
    let client: RedisClient

    /// Keys unique to one test, so tests never collide (and never need FLUSHALL).
    let prefix = "test:\(UInt64.random(in: 0...UInt64.max)):"

    static let quietLogger = Logger(label: "lockd.redis.test") { _ in SwiftLogNoOpLogHandler() }

    /// Runs `body` against a fresh server, then shuts everything down.
    static func with<Result>(
        serverArguments: [String] = [],
        tls: RedisServerFixture.TLS? = nil,
        loops: Int = 1,
        configure: (inout RedisConfiguration) -> Void = { _ in },
        _ body: (RedisTestHarness) async throws -> Result
    ) async throws -> Result {
        // Started and stopped off the pool: blocking one of its two threads
        // while redis-server starts stalled every other test in a parallel run.
        let server = try await offThePool { try RedisServerFixture.start(arguments: serverArguments, tls: tls) }
        let harness: RedisTestHarness
        do {
            let group = try EventLoopGroup(loopCount: loops, namePrefix: "redis-test")
            do {
                harness = RedisTestHarness(server: server, group: group, client: try makeClient(server: server, group: group, configure: configure))
            } catch {
                group.shutdown()
                throw error
            }
        } catch {
            await offThePool { server.stop() }
            throw error
        }
        let group = harness.group
        func tearDown() async {
            await harness.client.shutdown()
            group.shutdown()
            await offThePool { server.stop() }
        }
        do {
            // Connecting can take longer than a test's short command timeout on a busy machine.
            if !serverArguments.contains("--requirepass") {
                try await retrying(within: .seconds(5)) { try await harness.client.ping() }
            }
            let result = try await body(harness)
            await tearDown()
            return result
        } catch {
            await tearDown()
            throw error
        }
    }

    /// A client of `server`, over TLS when the server speaks it.
    static func makeClient(server: RedisServerFixture, group: EventLoopGroup, configure: (inout RedisConfiguration) -> Void = { _ in }) throws -> RedisClient {
        var configuration = try RedisConfiguration(url: server.tlsURL ?? server.url)
        configure(&configuration)
        return RedisClient(configuration: configuration, eventLoopGroup: group, logger: quietLogger)
    }

    func key(_ name: String) -> String { prefix + name }

    /// Sends `command` and returns its reply or error as a value.
    func outcome(_ command: RedisCommand) async -> Result<RESPValue, RedisError> {
        do throws(RedisError) {
            return .success(try await client.send(command))
        } catch {
            return .failure(error)
        }
    }
}
