import Synchronization

/// Lets one event through per interval and counts the ones it held back:
/// for log lines that would otherwise repeat once per request during an
/// outage.
///
/// ```swift
/// let throttle = Throttle(interval: .seconds(10))
/// if let suppressed = throttle.admit() {
///     logger.warning("Redis unreachable", metadata: ["suppressed": "\(suppressed)"])
/// } else {
///     logger.debug("Redis unreachable")
/// }
/// ```
public final class Throttle: Sendable {
    private let interval: UInt64
    private let state = Mutex<(last: UInt64?, suppressed: Int)>((nil, 0))

    /// A throttle that admits one event per `interval`.
    public init(interval: Duration) {
        self.interval = MonotonicClock.nanoseconds(interval)
    }

    /// Whether this event may go through: the number of events held back
    /// since the last admitted one, or nil to hold this one back.
    public func admit(now: UInt64 = MonotonicClock.now()) -> Int? {
        state.withLock { state in
            if let last = state.last, now &- last < interval {
                state.suppressed += 1
                return nil
            }
            defer { state = (now, 0) }
            return state.suppressed
        }
    }
}
