import CoreMetrics
import LockEngine
import LockdHTTP
import LockdHTTPCompression
import LockdRedis
import Prometheus

/// lockd's metrics in one place: the Prometheus registry every handle is
/// made in, the factory the layers make them through, `/metrics`'s text,
/// and the API served with them. lockd's composition root and in-process
/// tests put lockd together through this type alike.
///
/// ```swift
/// let metrics = LockdMetrics(store: "redis")
/// let store = RedisLockStore(client: redis, metrics: metrics.lock, logger: logger)
/// let engine = LockEngine(store: store, loops: loops, metrics: metrics.lock, logger: logger)
/// let served = metrics.api(engine: engine, redis: redis, accessLog: nil) { server.openConnectionCount }
/// let server = HTTPServer(configuration: http, responder: served.responder, eventLoopGroup: loops,
///                         logger: logger, observer: served.observer)
/// ```
public final class LockdMetrics: Sendable {
    /// Makes handles with the help text and buckets of ``MetricCatalog``.
    public let factory: any MetricsFactory
    /// The engine's and the store's handles.
    public let lock: LockMetrics
    private let registry: PrometheusCollectorRegistry
    private let timers: TimerHistograms
    private let store: String

    /// - Parameter store: `redis` or `memory`, for `lockd_build_info` and `/readyz`.
    public init(store: String) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        let timers = TimerHistograms()
        self.timers = timers
        self.factory = DescribedMetricsFactory(registry: registry, timers: timers)
        self.lock = LockMetrics(factory: factory)
        self.store = store
    }

    /// The API over `engine` as lockd serves it — requests checked against
    /// `access` (when given), responses compressed where the client allows
    /// it — and the observer that meters every response (and writes the
    /// access log).
    /// - Parameters:
    ///   - access: the auth rules (`--auth-file`); nil serves every request.
    ///   - redis: the store's client, for `lockd_redis_*`; nil with the in-memory store.
    ///   - accessLog: where request lines go; nil writes none.
    ///   - openConnections: the HTTP server's open connections, read at scrape time.
    public func api(
        engine: LockEngine, redis: RedisClient?, accessLog: AccessLog?, access: AccessRules? = nil,
        eventStreams: ServerSentEventStream.Configuration = LockAPI.eventStreamDefaults,
        openConnections: @escaping @Sendable () -> Int
    ) -> (responder: CompressingResponder<AccessControlResponder>, observer: any HTTPExchangeObserver) {
        let redisStats = redis.map(Self.stats(of:))
        // Only the responder's rules set a request's client id: without them the API skips reading it.
        let rules = access
        let api = LockAPI(engine: engine, storeName: store, factory: factory, eventStreams: eventStreams, readsClient: rules != nil) { [self] in
            render(openConnections: openConnections, redis: redisStats)
        }
        let router = api.router
        let metering = HTTPMetering(routes: router.routeNames, factory: factory, accessLog: accessLog)
        return (CompressingResponder(wrapping: AccessControlResponder(router: router, rules: rules)), metering)
    }

    private static func stats(of client: RedisClient) -> @Sendable () -> RedisScrape {
        { RedisScrape(connections: client.connectionStats, topology: client.topologyStatistics) }
    }

    /// The exposition: what the handles counted, then what is read now.
    func render(openConnections: @escaping @Sendable () -> Int, redis: (@Sendable () -> RedisScrape)?) -> [UInt8] {
        lock.collectExpiredLeases()
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        timers.emit(into: &bytes)
        var text = ""
        ScrapeTimeMetrics(version: LockdVersion.current, store: store, openConnections: openConnections, redis: redis)
            .emit(into: &text)
        bytes.append(contentsOf: text.utf8)
        return bytes
    }
}
