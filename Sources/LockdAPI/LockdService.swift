import LockEngine
import LockdHTTP
import LockdHTTPCompression
import LockdRedis
import LockdTransport
import Logging
import Prometheus
import Synchronization

/// Everything lockd runs, put together: event loops, the store (Redis or in
/// memory), the engine, the API and the HTTP server. The `lockd` executable
/// and end-to-end tests both start lockd through this type.
///
/// ```swift
/// let service = try LockdService(configuration: .init(listen: "127.0.0.1:0"), logger: logger)
/// let addresses = try service.start()
/// let runner = Task { await service.run() }
/// // …
/// await service.shutdown()
/// runner.cancel()
/// ```
public final class LockdService: Sendable {
    /// The settings lockd was started with.
    public let configuration: LockdConfiguration
    /// The lock engine (for in-process callers and tests).
    public let engine: LockEngine
    private let loops: EventLoopGroup
    private let store: any LockStore
    private let redis: RedisClient?
    private let server: HTTPServer
    private let logger: Logger

    /// Builds lockd from `configuration`; nothing listens until ``start()``.
    /// - Throws: a configuration error (bad Redis URL) or ``TransportError``.
    public init(configuration: LockdConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let loops = try EventLoopGroup(loopCount: configuration.loopCount)
        self.loops = loops
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        let metrics = LockMetrics(factory: factory)
        if let url = configuration.redisURL {
            var redisConfiguration = try RedisConfiguration(url: url)
            if redisConfiguration.tls != nil { redisConfiguration.tls = configuration.redisTLS }
            let redis = RedisClient(configuration: redisConfiguration, eventLoopGroup: loops, logger: logger)
            self.redis = redis
            self.store = RedisLockStore(client: redis, metrics: metrics, logger: logger)
        } else {
            self.redis = nil
            self.store = InMemoryLockStore()
        }
        self.engine = LockEngine(store: store, configuration: configuration.engine, loops: loops, metrics: metrics, logger: logger)
        var http = configuration.http
        http.listenAddress = configuration.listen
        let connections = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "lockd", metricName: "open_connections", unitName: "", helpText: "HTTP connections open now."))
        let server = ServerBox()
        let api = LockAPI(engine: engine, factory: factory) {
            if let count = server.value?.openConnectionCount { connections.set(Double(count)) }
            return registry.emitToBuffer()
        }
        let responder = CompressingResponder(wrapping: api.router)
        self.server = HTTPServer(configuration: http, responder: responder, eventLoopGroup: loops, logger: logger)
        server.value = self.server
    }

    /// Whether leases live only in this process.
    public var isInMemory: Bool { redis == nil }

    /// Starts listening.
    /// - Returns: the bound addresses (the real port when the configured one is 0).
    /// - Throws: ``TransportError`` or ``SocketAddressError`` when the address cannot be bound.
    public func start() throws -> [SocketAddress] {
        try server.start()
    }

    /// Runs the engine's wake-ups and heartbeats until the task is cancelled.
    public func run() async {
        await engine.run()
    }

    /// Graceful shutdown: waiters get 503, no new connections are accepted,
    /// in-flight requests finish within the grace period, then everything closes.
    public func shutdown() async {
        engine.beginShutdown()
        await server.shutdown(gracePeriod: configuration.shutdownGracePeriod)
        await store.close()
        await redis?.shutdown()
        loops.shutdown()
    }
}

/// lockd's settings, each with PRODUCT.md's default.
public struct LockdConfiguration: Sendable {
    /// `HOST:PORT` to listen on.
    public var listen: String
    /// `redis://` or `rediss://` URL of the store; nil keeps leases in this process only.
    public var redisURL: String?
    /// Certificates for a `rediss://` URL; by default the system's trusted
    /// authorities verify Redis and lockd presents no certificate of its own.
    public var redisTLS: TLSClientConfiguration
    /// Lease and wait limits (`maxWaitMs` is `--max-wait-ms`).
    public var engine: LockEngineConfiguration
    /// HTTP limits and timeouts.
    public var http: HTTPServerConfiguration
    /// Event loops (threads) to serve on; one per core by default.
    public var loopCount: Int
    /// How long shutdown waits for in-flight requests.
    public var shutdownGracePeriod: Duration

    /// Creates a configuration; every argument has the product's default.
    public init(
        listen: String = "127.0.0.1:7070",
        redisURL: String? = nil,
        redisTLS: TLSClientConfiguration = .init(),
        engine: LockEngineConfiguration = .init(),
        http: HTTPServerConfiguration = .init(),
        loopCount: Int = EventLoopGroup.defaultLoopCount,
        shutdownGracePeriod: Duration = .seconds(10)
    ) {
        self.listen = listen
        self.redisURL = redisURL
        self.redisTLS = redisTLS
        self.engine = engine
        self.http = http
        self.loopCount = loopCount
        self.shutdownGracePeriod = shutdownGracePeriod
    }
}

/// Lets the `/metrics` closure read the server that is created after it.
private final class ServerBox: Sendable {
    private let server = Mutex<HTTPServer?>(nil)
    var value: HTTPServer? {
        get { server.withLock { $0 } }
        set { server.withLock { $0 = newValue } }
    }
}
