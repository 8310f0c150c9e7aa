import Foundation
import LockdAPI
import LockdClient
import LockdTestSupport
import OpenAPIRuntime
import OpenAPIURLSession
import Logging
import Testing

/// The stores every end-to-end SDK test runs lockd on.
enum TestStore: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case redis

    var testDescription: String { rawValue }

    /// Runs `body` against a fresh in-process lockd using this store (and, for
    /// Redis, a fresh redis-server that is stopped afterwards).
    func withLockd<Result>(_ body: (TestLockd) async throws -> Result) async throws -> Result {
        switch self {
        case .memory:
            return try await TestLockd.with(redis: nil, body)
        case .redis:
            let redis = try await offThePool { try RedisServerFixture.start() }
            do {
                let result = try await TestLockd.with(redis: redis, body)
                await offThePool { redis.kill() }
                return result
            } catch {
                await offThePool { redis.kill() }
                throw error
            }
        }
    }

    /// Starts a fresh `lockd` child process using this store; `body` gets it.
    ///
    /// Servers are stopped with SIGKILL: a child spawned from a thread that
    /// blocks SIGTERM inherits that mask and would never see a SIGTERM (which is
    /// how `RedisServerFixture.stop()` can wait forever).
    func withLockdProcess<Value>(_ body: (LockdProcess) async throws -> Value) async throws -> Value {
        let redis = self == .redis ? try await offThePool { try RedisServerFixture.start() } : nil
        let lockd: LockdProcess
        do {
            lockd = try await LockdProcess.start(redisURL: redis?.url)
        } catch {
            await offThePool { redis?.kill() }
            throw error
        }
        let stop = { @Sendable in
            lockd.stop()
            redis?.kill()
        }
        do {
            let value = try await body(lockd)
            await offThePool(stop)
            return value
        } catch {
            await offThePool(stop)
            throw error
        }
    }
}

/// A lockd started in this process for one test, on a free loopback port.
struct TestLockd: Sendable {
    /// The in-process lockd.
    let service: LockdService
    /// lockd's base URL.
    let url: URL
    /// The Redis server holding the leases, or nil for the in-memory store.
    let redis: RedisServerFixture?

    /// A client of this lockd.
    func client(owner: String? = "sdk-test") -> LockClient {
        LockClient(serverURL: url, owner: owner, timeout: .seconds(10))
    }

    /// The generated client, for going behind a `LockClient`'s back.
    var generated: Client {
        Client(serverURL: url, configuration: .init(dateTranscoder: .iso8601WithFractionalSeconds), transport: URLSessionTransport())
    }

    /// Releases the lease `token` holds without its `Lease` knowing, as another
    /// process holding a leaked token, or an operator, might.
    func releaseBehindTheBack(_ name: String, token: String) async throws {
        let output = try await generated.releaseLock(path: .init(name: name), headers: .init(lockToken: token))
        guard case .noContent = output else { throw TestFailure("release behind the back: \(output)") }
    }

    /// Deletes the lease from the store itself — the Redis key, or for the
    /// in-memory store a release by token — as an operator or a failover might.
    func deleteLease(_ name: String, token: String) async throws {
        guard let redis else { return try await releaseBehindTheBack(name, token: token) }
        // ChildProcess, not Foundation's Process: the latter stalls or crashes
        // the test process when many tests run at once.
        let outputPath = NSTemporaryDirectory() + "redis-cli-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let reply = try await offThePool {
            let cli = try ChildProcess(executable: "/usr/bin/env", arguments: ["redis-cli", "-p", "\(redis.port)", "DEL", "lockd:{\(name)}:lease"],
                                       outputPath: outputPath)
            _ = cli.waitForExit(timeout: .seconds(10))
            return (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        }
        guard reply.trimmingCharacters(in: .whitespacesAndNewlines) == "1" else {
            throw TestFailure("DEL of the lease key answered \(reply)")
        }
    }

    /// Starts lockd, runs `body`, shuts lockd down.
    static func with<Result>(redis: RedisServerFixture?, _ body: (TestLockd) async throws -> Result) async throws -> Result {
        var logger = Logger(label: "lockd-sdk-test")
        logger.logLevel = .warning
        var configuration = LockdConfiguration(listen: "127.0.0.1:0", redisURL: redis?.url, loopCount: 1)
        configuration.shutdownGracePeriod = .seconds(2)
        let service = try LockdService(configuration: configuration, logger: logger)
        let addresses = try service.start()
        guard let port = addresses.first?.port, let url = URL(string: "http://127.0.0.1:\(port)") else {
            throw TestFailure("lockd bound no address")
        }
        let runner = Task { await service.run() }
        defer { runner.cancel() }
        do {
            let result = try await body(TestLockd(service: service, url: url, redis: redis))
            await service.shutdown()
            return result
        } catch {
            await service.shutdown()
            throw error
        }
    }
}

/// A lock name no other test uses.
func uniqueName(_ label: String = #function) -> String {
    let cleaned = label.filter { $0.isLetter || $0.isNumber }
    return "sdk:\(cleaned):\(UUID().uuidString)"
}

/// Polls `condition` every 10 ms until it holds or `limit` passes; returns how long it took, or nil.
func waitUntil(within limit: Duration, _ condition: () async throws -> Bool) async rethrows -> Duration? {
    let start = ContinuousClock.now
    while ContinuousClock.now - start < limit {
        if try await condition() { return ContinuousClock.now - start }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition() ? ContinuousClock.now - start : nil
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
