import CoreMetrics

/// What the engine reports through swift-metrics. The factory is passed in,
/// not bootstrapped globally, so each lockd (and each test) has its own.
///
/// Series (Prometheus names):
/// - `lockd_acquires_total{outcome}` — granted, retried, held, timed_out,
///   cancelled, unavailable, invalid;
/// - `lockd_leases_ended_total{reason}` — released, or lost (renew or
///   release found the lease gone: it expired, or never was);
/// - `lockd_waiters` — acquires waiting in this process now;
/// - `lockd_waiters_restored_total` — waiters put back into a queue the
///   store had lost (a Redis restart without persistence, say);
/// - `lockd_store_call_duration_seconds{operation}` and
///   `lockd_store_errors_total{operation,kind}` — the store's round trips.
public struct LockMetrics: Sendable {
    private let factory: any MetricsFactory
    private let waiters: Gauge

    /// Reports through `factory`; the default reports nowhere.
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        self.waiters = Gauge(label: "lockd_waiters", factory: factory)
    }

    /// Counts one finished acquire.
    public func acquired(_ outcome: AcquireOutcome) {
        Counter(label: "lockd_acquires_total", dimensions: [("outcome", outcome.rawValue)], factory: factory).increment()
    }

    /// Counts a lease that ended.
    public func leaseEnded(_ reason: LeaseEnd) {
        Counter(label: "lockd_leases_ended_total", dimensions: [("reason", reason.rawValue)], factory: factory).increment()
    }

    /// Records how many acquires wait now.
    public func waiting(_ count: Int) {
        waiters.record(count)
    }

    /// Counts waiters put back into a queue the store had lost.
    public func waitersRestored(_ count: Int) {
        Counter(label: "lockd_waiters_restored_total", factory: factory).increment(by: count)
    }

    /// Records one store round trip and, when it failed, its kind of failure.
    public func storeCall(_ operation: String, nanoseconds: UInt64, failure: String?) {
        Timer(label: "lockd_store_call_duration_seconds", dimensions: [("operation", operation)], factory: factory)
            .recordNanoseconds(Int64(clamping: nanoseconds))
        if let failure {
            Counter(label: "lockd_store_errors_total", dimensions: [("operation", operation), ("kind", failure)], factory: factory)
                .increment()
        }
    }

    /// How an acquire ended.
    public enum AcquireOutcome: String, Sendable {
        case granted, retried, held, timedOut = "timed_out", cancelled, unavailable, invalid
    }

    /// Why a lease ended.
    public enum LeaseEnd: String, Sendable {
        case released, lost
    }
}
