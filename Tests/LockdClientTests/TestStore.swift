import Foundation
import LockdAPI
import LockdClient
import OpenAPIRuntime
import OpenAPIURLSession
import Logging
import Testing

/// The stores every end-to-end SDK test runs lockd on.
enum TestStore: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory

    var testDescription: String { rawValue }

    /// Runs `body` against a fresh in-process lockd using this store.
    func withLockd<Result>(_ body: (TestLockd) async throws -> Result) async throws -> Result {
        switch self {
        case .memory:
            return try await TestLockd.with(redisURL: nil, body)
        }
    }
}

/// A lockd started in this process for one test, on a free loopback port.
struct TestLockd: Sendable {
    /// lockd's base URL.
    let url: URL

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

    /// Starts lockd, runs `body`, shuts lockd down.
    static func with<Result>(redisURL: String?, _ body: (TestLockd) async throws -> Result) async throws -> Result {
        var logger = Logger(label: "lockd-sdk-test")
        logger.logLevel = .warning
        var configuration = LockdConfiguration(listen: "127.0.0.1:0", redisURL: redisURL, loopCount: 1)
        configuration.shutdownGracePeriod = .seconds(2)
        let service = try LockdService(configuration: configuration, logger: logger)
        let addresses = try service.start()
        guard let port = addresses.first?.port, let url = URL(string: "http://127.0.0.1:\(port)") else {
            throw TestFailure("lockd bound no address")
        }
        let runner = Task { await service.run() }
        defer { runner.cancel() }
        do {
            let result = try await body(TestLockd(url: url))
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
