import Foundation
import LockEngine
import LockdAPI
import LockdAuth
import LockdHTTP
import LockdRedis
import LockdTransport
import Logging

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A lockd started in this process for one test, on a free loopback port,
/// with what it logged captured for the test to read.
///
/// This is the documented way to run lockd in process: it composes the
/// same pieces as the `lockd` executable's composition root
/// (`Sources/lockd/LockdApp.swift`) — store, engine, ``LockAPI`` with its
/// metrics, ``HTTPServer`` — without settings, signals or a `ServiceGroup`,
/// and shuts them down in the same order.
///
/// ```swift
/// try await StoreKind.redis.withLockd { lockd in
///     let reply = try await lockd.send("POST", "/locks/orders")
///     #expect(reply.status == 201)
/// }
/// ```
public struct TestLockd: Sendable {
    /// What a test may change; the defaults are lockd's, on two loops, with a 2 s grace period.
    public struct Configuration: Sendable {
        /// Lease and wait limits.
        public var engine = LockEngineConfiguration()
        /// HTTP limits, timeouts and TLS; the address is always a free loopback port.
        public var http = HTTPServerConfiguration(listenAddress: "127.0.0.1:0")
        /// Event loops to serve on.
        public var loopCount = 2
        /// How long shutdown waits for requests in flight.
        public var shutdownGracePeriod = Duration.seconds(2)
        /// The Redis URL lockd uses instead of the fixture's own (a wrong
        /// password, another database); nil uses the fixture's.
        public var redisURL: String?
        /// Where one line per request goes (`--access-log`); nil writes none.
        public var accessLog: AccessLog?
        /// The auth file's rules (`--auth-file`); nil serves every request.
        public var authPolicy: AccessPolicy?
        /// The backlog and keep-alive of `GET /events` streams.
        public var eventStreams = LockAPI.eventStreamDefaults
    }

    /// The in-process lock engine.
    public let engine: LockEngine
    /// The in-process HTTP server.
    public let server: HTTPServer
    /// lockd's base URL, `http://127.0.0.1:PORT` (`https://` with TLS on).
    public let url: URL
    /// The Redis server holding the leases, or nil for the in-memory store.
    public let redis: RedisServerFixture?
    /// Every line lockd logged, at `logLevel` and above.
    public let logs: CapturedLogs
    /// The auth rules in force (``Configuration/authPolicy``), to reload as SIGHUP does.
    public var access: AccessRules?

    /// ``url`` as text, to append paths to.
    public var baseURL: String { url.absoluteString }

    /// Starts lockd, runs `body`, shuts lockd down.
    /// - Parameters:
    ///   - redis: the store's server; nil for the in-memory store.
    ///   - configure: changes to the test defaults (two loops, a 2 s grace period).
    public static func with<Result>(
        redis: RedisServerFixture?,
        logLevel: Logger.Level = .trace,
        configure: (inout Configuration) -> Void = { _ in },
        _ body: (TestLockd) async throws -> Result
    ) async throws -> Result {
        let logs = CapturedLogs()
        var logger = Logger(label: "lockd-test") { _ in CapturingLogHandler(logs: logs) }
        logger.logLevel = logLevel
        var configuration = Configuration()
        configure(&configuration)
        configuration.http.listenAddress = "127.0.0.1:0"

        let loops = try EventLoopGroup(loopCount: configuration.loopCount, namePrefix: "lockd-test")
        let metrics = LockdMetrics(store: redis == nil ? "memory" : "redis")
        let backend = try redis.map { redis in
            try RedisLockBackend(configuration: try RedisConfiguration(url: configuration.redisURL ?? redis.url), loops: loops,
                                 metrics: metrics.lock, logger: logger)
        }
        let store: any LockStore = backend?.store ?? InMemoryLockStore()
        let engine = LockEngine(store: store, configuration: configuration.engine, loops: loops,
                                upkeepLoop: backend?.upkeepLoop, metrics: metrics.lock, logger: logger)
        let served = WeakHTTPServer()
        let access = configuration.authPolicy.map { AccessRules(policy: $0, factory: metrics.factory) }
        let api = metrics.api(engine: engine, redis: backend?.client, accessLog: configuration.accessLog, access: access,
                              eventStreams: configuration.eventStreams) {
            served.openConnectionCount
        }
        let server = HTTPServer(configuration: configuration.http, responder: api.responder, eventLoopGroup: loops, logger: logger,
                                observer: api.observer)
        served.set(server)

        func tearDown(_ runner: Task<Void, Never>?) async {
            engine.beginShutdown()
            await server.shutdown(gracePeriod: configuration.shutdownGracePeriod)
            runner?.cancel()
            await runner?.value
            await store.close()
            await backend?.shutdown()
            loops.shutdown()
        }
        let addresses: [SocketAddress]
        do {
            addresses = try server.start()
        } catch {
            await tearDown(nil)
            throw error
        }
        let scheme = configuration.http.tls == nil ? "http" : "https"
        guard let port = addresses.first?.port, let url = URL(string: "\(scheme)://127.0.0.1:\(port)") else {
            await tearDown(nil)
            throw TestFailure("lockd bound no address")
        }
        let runner = Task { await engine.run() }
        // lockd readies Redis as it starts serving (StoreService). Here it is
        // awaited before the body, so that a busy machine cannot fail a test's
        // first calls; with another Redis URL (a test of a refusing Redis,
        // which wants its refusals) it runs in the background, as in lockd.
        var preparation: Task<Void, Never>?
        do {
            if let backend, configuration.redisURL != nil {
                preparation = Task { await backend.prepare() }
            } else {
                if let backend { try await prepared(backend) }
                // And the engine hears the store before the body, as the
                // engine tests' does (StoreKind.withEngine).
                try await untilEngineListens(to: store, redis: backend?.client)
            }
            let result = try await body(TestLockd(engine: engine, server: server, url: url, redis: redis, logs: logs, access: access))
            preparation?.cancel()
            await preparation?.value
            await tearDown(runner)
            return result
        } catch {
            preparation?.cancel()
            await preparation?.value
            await tearDown(runner)
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
