import LockEngine
import LockdAPI
import LockdHTTP
import LockdRedis
import LockdTransport
import Logging
import ServiceLifecycle

/// lockd's composition root: builds the event loops, the store (Redis or in
/// memory), the engine, the API and the HTTP server from the settings, and
/// runs them as services of one `ServiceGroup` until SIGTERM or SIGINT.
///
/// Graceful shutdown runs the services' shutdowns in reverse order: the
/// engine answers its waiters 503, the HTTP server stops accepting and lets
/// requests in flight finish (within the grace period), then the store and
/// the Redis client close. SIGHUP reloads what ``reloadHooks`` lists (the TLS
/// certificate; later the auth file).
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
    /// The Redis store's clients; nil for the in-memory store.
    let redis: RedisLockBackend?
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
        let lockdMetrics = LockdMetrics()
        let metrics = LockMetrics(factory: lockdMetrics.factory)
        if let url = settings.redisURL {
            var configuration = try RedisConfiguration(url: url)
            if configuration.tls != nil { configuration.tls = settings.redisTLS }
            let redis = try RedisLockBackend(configuration: configuration, loops: loops, metrics: metrics, logger: logger)
            self.redis = redis
            self.store = redis.store
        } else {
            self.redis = nil
            self.store = InMemoryLockStore()
        }
        var engineConfiguration = LockEngineConfiguration()
        engineConfiguration.maxWaitMs = settings.maxWaitMs
        self.engine = LockEngine(store: store, configuration: engineConfiguration, loops: loops,
                                 upkeepLoop: redis?.upkeepLoop, metrics: metrics, logger: logger)
        var http = HTTPServerConfiguration(listenAddress: settings.listen)
        http.tls = settings.tls
        let api = LockAPI(engine: engine, factory: lockdMetrics.factory, metrics: lockdMetrics.render)
        self.server = HTTPServer(configuration: http, responder: api.responder, eventLoopGroup: loops, logger: logger)
        lockdMetrics.observe(server)
    }

    /// What SIGHUP reloads, each named for the log.
    var reloadHooks: [ReloadHook] {
        var hooks: [ReloadHook] = []
        if settings.tls != nil {
            hooks.append(ReloadHook(name: "TLS certificate and key (--tls-cert-file, --tls-key-file, --tls-client-ca-file)") {
                [server] in try server.reloadTLS()
            })
        }
        return hooks
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
        logger.info("lockd listening", metadata: ["addresses": "\(addresses)", "tls": "\(settings.tls != nil)"])

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
            await redis?.shutdown()
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
