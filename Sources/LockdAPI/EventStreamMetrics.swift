import CoreMetrics
import Synchronization

/// `lockd_event_streams_open`, `lockd_events_sent_total` and
/// `lockd_event_streams_dropped_total`: every handle made here, once.
final class EventStreamMetrics: Sendable {
    private let open: Gauge
    private let openCount = Atomic<Int>(0)
    private let sent: Counter
    private let dropped: Counter

    init(factory: any MetricsFactory) {
        open = Gauge(label: "lockd_event_streams_open", factory: factory)
        sent = Counter(label: "lockd_events_sent_total", factory: factory)
        dropped = Counter(label: "lockd_event_streams_dropped_total", factory: factory)
        open.record(0)
    }

    /// A stream opened.
    func opened() {
        open.record(openCount.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    /// A stream ended; `fellBehind` when its reader was too slow.
    func closed(fellBehind: Bool) {
        open.record(openCount.wrappingSubtract(1, ordering: .relaxed).newValue)
        if fellBehind { dropped.increment() }
    }

    /// An event was queued for a reader.
    func sentOne() { sent.increment() }
}
