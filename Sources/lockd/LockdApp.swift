import LockEngine
import LockdAPI
import LockdHTTP
import LockdRedis
import LockdTransport
import Logging
import ServiceLifecycle
import Synchronization

/// lockd's composition root: builds the event loops, the store (Redis or in
/// memory), the engine, the API and the HTTP server from the settings, and
/// runs them as services of one `ServiceGroup` until SIGTERM or SIGINT.
///
/// Graceful shutdown runs the services' shutdowns in reverse order: the
/// engine answers its waiters 503, the HTTP server stops accepting and lets
/// requests in flight finish (within the grace period), then the store and
/// the Redis client close. SIGHUP reloads what ``reloadHooks`` lists
/// (nothing yet: the TLS certificate and the auth file will add theirs).
///
/// ```swift
/// let app = try LockdApp(settings: settings, logger: logger)
/// try await app.run()   // returns after a graceful shutdown
/// ```
struct LockdApp {
    let settings: Settings
    let logger: Logger
    let loops: EventLoopGroup
    let store: any LockStore
    let redis: RedisClient?
    let engine: LockEngine
    let server: HTTPServer

    /// How long shutdown waits for requests in flight.
    static let shutdownGracePeriod = Duration.seconds(10)

    /// Builds lockd; nothing listens until ``run()``.
    /// - Throws: ``TransportError`` when the event loops cannot start.
    init(settings: Settings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        let loops = try EventLoopGroup(loopCount: EventLoopGroup.defaultLoopCount)
        self.loops = loops
        let metrics = LockdMetrics(store: settings.redisURL == nil ? "memory" : "redis")
        if let url = settings.redisURL {
            var configuration = try RedisConfiguration(url: url)
            if configuration.tls != nil { configuration.tls = settings.redisTLS }
            let redis = RedisClient(configuration: configuration, eventLoopGroup: loops, logger: logger)
            self.redis = redis
            self.store = RedisLockStore(client: redis, metrics: metrics.lock, logger: logger)
        } else {
            self.redis = nil
            self.store = InMemoryLockStore()
        }
        var engineConfiguration = LockEngineConfiguration()
        engineConfiguration.maxWaitMs = settings.maxWaitMs
        self.engine = LockEngine(store: store, configuration: engineConfiguration, loops: loops, metrics: metrics.lock, logger: logger)
        let http = HTTPServerConfiguration(listenAddress: settings.listen)
        let serverBox = Mutex<HTTPServer?>(nil)
        let served = metrics.api(engine: engine, redis: redis, accessLog: nil) { serverBox.withLock { $0 }?.openConnectionCount ?? 0 }
        self.server = HTTPServer(configuration: http, responder: served.responder, eventLoopGroup: loops, logger: logger,
                                 observer: served.observer)
        serverBox.withLock { $0 = server }
    }

    /// What SIGHUP reloads, each named for the log.
    var reloadHooks: [ReloadHook] {
        []
    }

    /// Listens, serves until SIGTERM or SIGINT, then shuts down gracefully.
    /// - Throws: ``Settings/Invalid`` when lockd cannot listen on its address.
    func run() async throws {
        let addresses: String
        do {
            addresses = try server.start().map(\.description).joined(separator: ", ")
        } catch {
            await store.close()
            await redis?.shutdown()
            loops.shutdown()
            throw Settings.Invalid(description: "--listen / LOCKD_LISTEN: cannot listen on '\(settings.listen)': \(error)")
        }
        if redis == nil {
            logger.warning("""
                IN-MEMORY STORE: leases live in this process only — not durable, not shared \
                with other lockd instances. Pass --redis redis://HOST:PORT for production.
                """)
        } else {
            logger.info("store: redis", metadata: ["redis.endpoint": "\(Self.endpoint(of: settings.redisURL ?? ""))"])
        }
        logger.info("lockd listening", metadata: ["addresses": "\(addresses)"])

        // Started in this order; shut down in reverse: engine, HTTP, store.
        let services: [any Service] = [
            StoreService(store: store, redis: redis),
            HTTPServerService(server: server, gracePeriod: Self.shutdownGracePeriod),
            LockEngineService(engine: engine, logger: logger),
            ReloadOnHangup(hooks: reloadHooks, logger: logger),
        ]
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            loops.shutdown()
            throw error
        }
        loops.shutdown()
        logger.info("stopped")
    }

    /// The URL's host and port without credentials, for logs.
    static func endpoint(of url: String) -> String {
        guard let scheme = url.firstRange(of: "://") else { return "?" }
        var rest = url[scheme.upperBound...]
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        return String(rest)
    }
}
