import CoreMetrics
import LockdTransport
import Synchronization

/// What the engine and the Redis store report through swift-metrics. The
/// factory is passed in, not bootstrapped globally, so each lockd (and each
/// test) has its own. Every handle is made once, here: a request only
/// increments or records.
///
/// Series (Prometheus names):
/// - `lockd_waiters` — acquires waiting in this process now;
/// - `lockd_leases_ended_total{reason}` — `released`, or `lost` (a renew or
///   release found the lease gone: it expired, or never was);
/// - `lockd_locks_held`, `lockd_hold_duration_seconds`,
///   `lockd_leases_expired_total` — leases granted through this process (see
///   ``LeaseLedger``);
/// - `lockd_redis_replication_timeouts_total` — `replicated` grants and
///   renewals no replica acknowledged in time (answered 503);
/// - `lockd_waiters_restored_total` — waiters put back into a queue the
///   store had lost (a Redis restart without persistence, say);
/// - `lockd_store_call_duration_seconds{operation}` and
///   `lockd_store_errors_total{operation,kind}` — the store's round trips.
public struct LockMetrics: Sendable {
    private let waiters: Gauge
    private let released: Counter
    private let lost: Counter
    private let restored: Counter
    private let replicationTimeouts: Counter
    /// Leases granted through this process, until released or expired.
    let leases: LeaseLedger
    /// Indexed by ``StoreOperation/rawValue``: a call finds its timer by
    /// index, not by comparing names (~90 instructions a store call).
    private let storeCalls: [Timer]
    private let storeErrors: StoreErrorCounters

    /// Reports through `factory`; the default reports nowhere.
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        waiters = Gauge(label: "lockd_waiters", factory: factory)
        released = Counter(label: "lockd_leases_ended_total", dimensions: [("reason", "released")], factory: factory)
        lost = Counter(label: "lockd_leases_ended_total", dimensions: [("reason", "lost")], factory: factory)
        restored = Counter(label: "lockd_waiters_restored_total", factory: factory)
        replicationTimeouts = Counter(label: "lockd_redis_replication_timeouts_total", factory: factory)
        leases = LeaseLedger(factory: factory)
        storeCalls = StoreOperation.allCases.map { operation in
            Timer(label: "lockd_store_call_duration_seconds", dimensions: [("operation", operation.label)], factory: factory)
        }
        storeErrors = StoreErrorCounters(factory: factory)
    }

    /// A lease was granted (or, `isRetry`, its holder's acquire set its TTL
    /// again) at `now` (``MonotonicClock``).
    func granted(_ lease: Lease, isRetry: Bool, now: UInt64) {
        leases.granted(lease, isRetry: isRetry, now: now)
    }

    /// A lease was renewed to `lease.ttlMs` from now.
    func renewed(_ lease: Lease) {
        leases.renewed(lease, now: MonotonicClock.now())
    }

    /// The lease `token` held on `name` was released (`.released`), or a
    /// renew or release found it gone (`.lost`). `inLedger`: the ledger
    /// counts the leases (false: the store does, ``LeaseCountingStore``,
    /// and counted this one's end itself).
    func leaseEnded(_ reason: LeaseEnd, name: LockName, token: LeaseToken, inLedger: Bool = true) {
        switch reason {
        case .released:
            released.increment()
            if inLedger { leases.released(name, token: token, now: MonotonicClock.now()) }
        case .lost:
            lost.increment()
            if inLedger { leases.lost(name, token: token, now: MonotonicClock.now()) }
        }
    }

    /// A lease a ``LeaseCountingStore`` counted was given back (the store
    /// recorded its hold): counted as released, as ``givenBack(_:token:)``.
    func countedGivenBack() {
        released.increment()
    }

    /// A lease granted through this process was given back: counted as
    /// released unless this process no longer counts it as held (it ended
    /// already, or ran out).
    /// - Returns: Whether it was counted.
    func givenBack(_ name: LockName, token: LeaseToken) -> Bool {
        guard leases.released(name, token: token, now: MonotonicClock.now()) else { return false }
        released.increment()
        return true
    }

    /// Records how many acquires wait now.
    public func waiting(_ count: Int) {
        waiters.record(count)
    }

    /// Counts leases that ran out since the last look, so that a scrape sees
    /// them; call it just before reading the metrics.
    public func collectExpiredLeases() {
        leases.sweep(now: MonotonicClock.now())
    }

    /// Counts waiters put back into a queue the store had lost.
    public func waitersRestored(_ count: Int) {
        restored.increment(by: count)
    }

    /// A `replicated` grant or renewal got no replica's acknowledgement in time.
    func replicationTimedOut() {
        replicationTimeouts.increment()
    }

    /// Records one store round trip and, when it failed, its kind of failure.
    public func storeCall(_ operation: StoreOperation, nanoseconds: UInt64, failure: String?) {
        // The timer lent, not retained around the handler's call and
        // released after (~40 instructions a store call, every Redis lock
        // request's): `storeCalls`, a `let` of this value, which the caller
        // holds throughout the call, holds it, and recording lets go of nothing.
        Unmanaged.passUnretained(storeCalls[operation.rawValue])._withUnsafeGuaranteedRef {
            $0.recordNanoseconds(Int64(clamping: nanoseconds))
        }
        if let failure { storeErrors.increment(operation: operation.label, kind: failure) }
    }

    /// Why a lease ended.
    public enum LeaseEnd: String, Sendable {
        case released, lost
    }
}

/// `lockd_store_errors_total{operation,kind}`, made on a series' first
/// failure and kept: failures come in bursts (an outage), where remaking a
/// handle per failed request would cost the most.
private final class StoreErrorCounters: Sendable {
    private let factory: any MetricsFactory
    private let counters = Mutex<[String: Counter]>([:])

    init(factory: any MetricsFactory) { self.factory = factory }

    func increment(operation: String, kind: String) {
        let key = operation + "/" + kind
        let counter = counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: "lockd_store_errors_total", dimensions: [
                ("operation", operation), ("kind", Self.snakeCased(kind)),
            ], factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    /// `authenticationFailed` → `authentication_failed`, as Prometheus label values go.
    private static func snakeCased(_ text: String) -> String {
        var result = ""
        for character in text {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}
