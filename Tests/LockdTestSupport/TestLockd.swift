import Foundation
import LockdAPI
import Logging

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A lockd started in this process for one test, on a free loopback port,
/// with what it logged captured for the test to read.
///
/// ```swift
/// try await StoreKind.redis.withLockd { lockd in
///     let reply = try await lockd.send("POST", "/locks/orders")
///     #expect(reply.status == 201)
/// }
/// ```
public struct TestLockd: Sendable {
    /// The in-process lockd.
    public let service: LockdService
    /// lockd's base URL, `http://127.0.0.1:PORT`.
    public let url: URL
    /// The Redis server holding the leases, or nil for the in-memory store.
    public let redis: RedisServerFixture?
    /// Every line lockd logged, at `logLevel` and above.
    public let logs: CapturedLogs

    /// ``url`` as text, to append paths to.
    public var baseURL: String { url.absoluteString }

    /// Starts lockd, runs `body`, shuts lockd down.
    /// - Parameters:
    ///   - redis: the store's server; nil for the in-memory store.
    ///   - configure: changes to the test defaults (two loops, a 2 s grace period).
    public static func with<Result>(
        redis: RedisServerFixture?,
        logLevel: Logger.Level = .trace,
        configure: (inout LockdConfiguration) -> Void = { _ in },
        _ body: (TestLockd) async throws -> Result
    ) async throws -> Result {
        let logs = CapturedLogs()
        var logger = Logger(label: "lockd-test") { _ in CapturingLogHandler(logs: logs) }
        logger.logLevel = logLevel
        var configuration = LockdConfiguration(listen: "127.0.0.1:0", redisURL: redis?.url, loopCount: 2)
        configuration.shutdownGracePeriod = .seconds(2)
        configure(&configuration)
        let service = try LockdService(configuration: configuration, logger: logger)
        let addresses = try service.start()
        guard let port = addresses.first?.port, let url = URL(string: "http://127.0.0.1:\(port)") else {
            throw TestFailure("lockd bound no address")
        }
        let runner = Task { await service.run() }
        defer { runner.cancel() }
        do {
            let result = try await body(TestLockd(service: service, url: url, redis: redis, logs: logs))
            await service.shutdown()
            return result
        } catch {
            await service.shutdown()
            throw error
        }
    }

    /// Sends one request through URLSession and reads the whole response.
    public func send(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) async throws -> TestResponse {
        guard let url = URL(string: baseURL + path) else { throw TestFailure("bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body.map { Data($0.utf8) }
        request.timeoutInterval = 30
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw TestFailure("not an HTTP response") }
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { fields[key.lowercased()] = value }
        }
        return TestResponse(status: http.statusCode, headers: fields, body: data)
    }
}

/// A response received through ``TestLockd/send(_:_:body:headers:)``.
public struct TestResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Header fields by lower-cased name.
    public var headers: [String: String]
    /// The body's bytes.
    public var body: Data

    /// A header field's value, by case-insensitive name.
    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (empty when it is none).
    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }
}
