/// A kind of store round trip, as `lockd_store_call_duration_seconds` and
/// `lockd_store_errors_total` label it (`operation`). The raw value indexes
/// ``LockMetrics``' timers, made once for every case.
public enum StoreOperation: Int, CaseIterable, Sendable {
    case acquire, renew, release, forceRelease, status, scan, removeWaiter, beat, reconcile

    /// The `operation` label's value.
    public var label: String {
        switch self {
        case .acquire: "acquire"
        case .renew: "renew"
        case .release: "release"
        case .forceRelease: "force_release"
        case .status: "status"
        case .scan: "scan"
        case .removeWaiter: "remove_waiter"
        case .beat: "beat"
        case .reconcile: "reconcile"
        }
    }
}
