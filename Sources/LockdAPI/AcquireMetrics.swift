import CoreMetrics
import LockEngine
import LockdTransport

/// `lockd_acquires_total{outcome}` and `lockd_wait_duration_seconds{outcome}`,
/// counted where the acquire route answers, so that the outcomes add up to
/// the route's statuses: granted + retried = 201 + 200, held + timed_out =
/// 409, invalid = 400, unavailable + cancelled = 503. Every handle is made
/// here, once.
struct AcquireMetrics: Sendable {
    /// How an acquire ended.
    enum Outcome: Int, CaseIterable, Sendable {
        case granted, retried, held, timedOut, cancelled, unavailable, invalid

        var label: String {
            switch self {
            case .granted: "granted"
            case .retried: "retried"
            case .held: "held"
            case .timedOut: "timed_out"
            case .cancelled: "cancelled"
            case .unavailable: "unavailable"
            case .invalid: "invalid"
            }
        }

        /// The outcome of an acquire that failed with `error` after asking to wait `waitMs`.
        init(_ error: LockError, waitMs: Int64) {
            switch error {
            case .lockHeld, .leaseLost, .notHeld: self = waitMs > 0 ? .timedOut : .held
            // Answered at once, whatever the wait.
            case .limitMismatch: self = .held
            case .invalidRequest: self = .invalid
            case .unavailable: self = .unavailable
            case .cancelled: self = .cancelled
            }
        }
    }

    private let counts: [Counter]
    /// None for `invalid`: such an acquire never waited.
    private let waits: [Timer?]

    init(factory: any MetricsFactory) {
        counts = Outcome.allCases.map { Counter(label: "lockd_acquires_total", dimensions: [("outcome", $0.label)], factory: factory) }
        waits = Outcome.allCases.map { outcome in
            outcome == .invalid ? nil : Timer(label: "lockd_wait_duration_seconds", dimensions: [("outcome", outcome.label)], factory: factory)
        }
    }

    /// Counts one acquire that arrived at `started` (monotonic nanoseconds);
    /// an invalid one is not timed, since it never waited.
    func record(_ outcome: Outcome, startedAt started: UInt64) {
        counts[outcome.rawValue].increment()
        waits[outcome.rawValue]?.recordNanoseconds(Int64(clamping: MonotonicClock.now() &- started))
    }
}
