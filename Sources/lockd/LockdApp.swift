import LockEngine
import LockdAPI
import LockdAuth
import LockdHTTP
import LockdRedis
import LockdTransport
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// lockd's composition root: builds the event loops, the store (Redis or in
/// memory), the engine, the API and the HTTP server from the settings, and
/// runs them as services of one `ServiceGroup` until SIGTERM or SIGINT.
///
/// Graceful shutdown runs the services' shutdowns in reverse order: the
/// engine answers its waiters 503, the HTTP server stops accepting and lets
/// requests in flight finish (within the grace period), then the store and
/// the Redis client close. SIGHUP reloads what ``reloadHooks`` lists (the TLS
/// certificate, the auth file).
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
    /// The auth file's rules; nil without `--auth-file`.
    let access: AccessRules?

    /// Builds lockd; nothing listens until ``run()``.
    /// - Throws: ``TransportError`` when the event loops cannot start.
    init(settings: Settings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        let operations = settings.operations
        let loops = try EventLoopGroup(loopCount: operations.eventLoops)
        self.loops = loops
        let metrics = LockdMetrics(store: settings.redisURL == nil ? "memory" : "redis")
        if let url = settings.redisURL {
            var configuration = try RedisConfiguration(url: url)
            if configuration.tls != nil { configuration.tls = settings.redisTLS }
            let redis = try RedisLockBackend(configuration: configuration, loops: loops,
                                             replicationTimeout: .milliseconds(settings.replicationTimeoutMs), metrics: metrics.lock, logger: logger)
            self.redis = redis
            self.store = redis.store
        } else {
            self.redis = nil
            self.store = InMemoryLockStore()
        }
        var engineConfiguration = LockEngineConfiguration()
        engineConfiguration.maxWaitMs = settings.maxWaitMs
        engineConfiguration.defaultDurability = settings.durability
        engineConfiguration.maxTTLMs = operations.maxTTLMs
        self.engine = LockEngine(store: store, configuration: engineConfiguration, loops: loops,
                                 upkeepLoop: redis?.upkeepLoop, metrics: metrics.lock, logger: logger)
        var http = HTTPServerConfiguration(listenAddress: settings.listen)
        http.tls = settings.tls
        http.maxConnections = operations.maxConnections
        http.idleTimeout = .milliseconds(operations.idleTimeoutMs)
        let served = WeakHTTPServer()
        let accessLog = operations.accessLog ? AccessLog(format: settings.logFormat == .json ? .json : .text) : nil
        let access = settings.authPolicy.map { AccessRules(policy: $0, factory: metrics.factory) }
        self.access = access
        let api = metrics.api(engine: engine, redis: redis?.client, accessLog: accessLog, access: access) { served.openConnectionCount }
        self.server = HTTPServer(configuration: http, responder: api.responder, eventLoopGroup: loops, logger: logger,
                                 observer: api.observer)
        served.set(server)
    }

    /// What SIGHUP reloads, each named for the log.
    var reloadHooks: [ReloadHook] {
        var hooks: [ReloadHook] = []
        if settings.tls != nil {
            hooks.append(ReloadHook(name: "TLS certificate and key (--tls-cert-file, --tls-key-file, --tls-client-ca-file)") {
                [server] in try server.reloadTLS()
            })
        }
        if let path = settings.authFile, let access {
            hooks.append(ReloadHook(name: "auth file (--auth-file)") {
                // Read and checked whole before the swap: a bad file leaves the old rules in force.
                access.replace(with: try AuthFile.load(path: path))
            })
        }
        return hooks
    }

    /// Listens, serves until SIGTERM or SIGINT, then shuts down gracefully.
    /// - Throws: ``Settings/Invalid`` when lockd cannot listen on its address.
    func run() async throws {
        // Trapped before listening: a SIGHUP sent once lockd answers must
        // reload, never end the process with the default action.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        // SIGTERM and SIGINT too: the ServiceGroup traps its own signals only
        // once it runs, after lockd listens. One sent in between killed lockd
        // undrained (the default action) or, caught between ignoring it and
        // listening for it, was lost and lockd kept running.
        let stops = await UnixSignalsSequence(trapping: .sigterm, .sigint)
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
        logger.info("lockd listening", metadata: [
            "addresses": "\(addresses)", "tls": .stringConvertible(settings.tls != nil),
            "auth_clients": settings.authPolicy.map { .stringConvertible($0.clients.count) } ?? "off",
            "event_loops": .stringConvertible(settings.operations.eventLoops),
            "max_connections": .stringConvertible(settings.operations.maxConnections),
        ])
        Self.checkFileLimit(maxConnections: settings.operations.maxConnections, logger: logger)

        // Started in this order; shut down in reverse: engine, HTTP, store.
        let services: [any Service] = [
            StoreService(store: store, redis: redis),
            HTTPServerService(server: server, gracePeriod: .milliseconds(settings.operations.drainTimeoutMs)),
            LockEngineService(engine: engine, logger: logger),
            ReloadOnHangup(hooks: reloadHooks, signals: hangups, logger: logger),
        ]
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
        // A signal that came before the group runs is remembered by it.
        let stopOnSignal = Task { [logger] in
            for await signal in stops {
                logger.debug("signal caught: shutting down", metadata: ["signal": "\(signal)"])
                await group.triggerGracefulShutdown()
            }
        }
        defer { stopOnSignal.cancel() }
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

    /// Warns when the open-file limit cannot hold `--max-connections`
    /// (each connection is a descriptor, and Redis and the loops need some).
    static func checkFileLimit(maxConnections: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let needed = maxConnections + 64
        guard limit.rlim_cur != rlim_t.max, UInt64(limit.rlim_cur) < UInt64(needed) else { return }
        logger.warning("the open-file limit is below --max-connections: raise it (ulimit -n, LimitNOFILE=) or lower --max-connections", metadata: [
            "open_file_limit": .stringConvertible(UInt64(limit.rlim_cur)), "max_connections": .stringConvertible(maxConnections),
        ])
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
