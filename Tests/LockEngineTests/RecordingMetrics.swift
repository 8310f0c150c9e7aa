import CoreMetrics
@testable import LockEngine
import Synchronization

/// A metrics factory that keeps what is reported, for the test to read
/// (`InMemoryLeaseCountingTests`, `LostLeaseCountingReviewTests`).
final class RecordingMetrics: MetricsFactory, Sendable {
    /// Every hold recorded (`lockd_hold_duration_seconds`), in nanoseconds.
    let holds = Values()
    private let counters = Mutex<[String: Values]>([:])
    private let gauges = Mutex<[String: Values]>([:])

    var handles: LeaseLedger.Handles {
        LeaseLedger.Handles(held: Gauge(label: "lockd_locks_held", factory: self),
                            holds: CoreMetrics.Timer(label: "lockd_hold_duration_seconds", factory: self),
                            expired: CoreMetrics.Counter(label: "lockd_leases_expired_total", factory: self))
    }

    func counter(_ label: String, reason: String? = nil) -> Double {
        counters.withLock { $0[Self.key(label, reason.map { [("reason", $0)] } ?? [])]?.sum ?? 0 }
    }

    func gauge(_ label: String) -> Double? {
        gauges.withLock { $0[label]?.last }
    }

    private static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: ",")
    }

    final class Values: CounterHandler, RecorderHandler, TimerHandler, Sendable {
        private let state = Mutex<[Double]>([])
        var values: [Double] { state.withLock { $0 } }
        var count: Int { state.withLock { $0.count } }
        var sum: Double { state.withLock { $0.reduce(0, +) } }
        var last: Double? { state.withLock { $0.last } }
        func increment(by amount: Int64) { state.withLock { $0.append(Double(amount)) } }
        func reset() { state.withLock { $0.removeAll() } }
        func record(_ value: Int64) { state.withLock { $0.append(Double(value)) } }
        func record(_ value: Double) { state.withLock { $0.append(value) } }
        func recordNanoseconds(_ duration: Int64) { state.withLock { $0.append(Double(duration)) } }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        counters.withLock { counters in
            let key = Self.key(label, dimensions)
            if let values = counters[key] { return values }
            let values = Values()
            counters[key] = values
            return values
        }
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        gauges.withLock { gauges in
            if let values = gauges[label] { return values }
            let values = Values()
            gauges[label] = values
            return values
        }
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        label == "lockd_hold_duration_seconds" ? holds : Values()
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
