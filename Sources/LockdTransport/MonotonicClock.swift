import CLockdSystem

/// Nanoseconds on `CLOCK_MONOTONIC`: cheap to read, never jumps with wall time.
public enum MonotonicClock {
    /// The current reading in nanoseconds. (Inlinable: the reading is a
    /// call into the vDSO, and the callers in other modules — the engine,
    /// the HTTP server, the Redis client — need no call of ours around it.)
    @inlinable
    public static func now() -> UInt64 {
        clockd_monotonic_ns()
    }

    /// `duration` in whole nanoseconds, 0 when negative, saturating when huge.
    public static func nanoseconds(_ duration: Duration) -> UInt64 {
        // (A negative duration under a second has 0 seconds and negative
        // attoseconds: checking the seconds alone let a timer due 0.3 s ago
        // trap converting them.)
        guard duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}
