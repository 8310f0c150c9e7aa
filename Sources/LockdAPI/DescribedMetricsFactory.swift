import CoreMetrics
import Prometheus

/// A swift-metrics factory over a Prometheus registry that gives each series
/// its `# HELP` text and histogram buckets from ``MetricCatalog``.
/// (swift-prometheus's own factory registers every series without help and
/// with one bucket set, 5 ms to 10 s, for all timers.)
///
/// Handles are made once by their owners (``LockMetrics``, ``AcquireMetrics``,
/// ``HTTPMetering``); this type is on no request's path.
struct DescribedMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    /// Timers live apart from the registry: ``TimerHistograms`` says why.
    let timers: TimerHistograms

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: MetricCatalog.entries[label]?.help ?? "")
    }

    private func buckets(_ label: String) -> [Duration] {
        MetricCatalog.entries[label]?.buckets ?? MetricCatalog.latencyBuckets
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        let buckets = buckets(label).map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let descriptor = descriptor(label)
        return timers.make(name: descriptor.name, help: descriptor.helpText ?? "", labels: dimensions, buckets: buckets(label))
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge {
            registry.unregisterGauge(gauge)
        } else if let histogram = handler as? ValueHistogram {
            registry.unregisterValueHistogram(histogram)
        }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? TimerHistogram { timers.destroy(histogram) }
    }
}
