import LockdHTTP
import Prometheus
import Synchronization

/// lockd's Prometheus metrics: the registry `/metrics` renders, the factory
/// the engine and the API count into, and `lockd_open_connections`, read
/// from the HTTP server at each scrape.
///
/// ```swift
/// let metrics = LockdMetrics()
/// let engine = LockEngine(store: store, loops: loops, metrics: LockMetrics(factory: metrics.factory), logger: logger)
/// let api = LockAPI(engine: engine, factory: metrics.factory, metrics: metrics.render)
/// let server = HTTPServer(configuration: http, responder: api.router, eventLoopGroup: loops, logger: logger)
/// metrics.observe(server)
/// ```
public final class LockdMetrics: Sendable {
    /// Every series lockd exposes.
    public let registry = PrometheusCollectorRegistry()
    /// The factory for `LockMetrics` and ``LockAPI``.
    public let factory: PrometheusMetricsFactory
    private let openConnections: Gauge
    /// Made after the API (whose `/metrics` route needs these metrics).
    private let server = Mutex<HTTPServer?>(nil)

    /// Creates the registry and lockd's own gauges.
    public init() {
        factory = PrometheusMetricsFactory(registry: registry)
        openConnections = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "lockd", metricName: "open_connections", unitName: "", helpText: "HTTP connections open now."))
    }

    /// Counts `server`'s open connections from now on.
    public func observe(_ server: HTTPServer) {
        self.server.withLock { $0 = server }
    }

    /// The Prometheus text format of every series, as `/metrics` answers it.
    @Sendable public func render() -> [UInt8] {
        if let count = server.withLock({ $0 })?.openConnectionCount { openConnections.set(Double(count)) }
        return registry.emitToBuffer()
    }
}
