import Histogram

/// Everything one event loop's clients measured; merged across loops at the end.
public struct RunStats: Sendable {
    /// Acquire→release cycles completed inside the measured window.
    public var cycles = 0
    /// Outcomes of acquires.
    public var acquire = StatusCounts()
    /// Outcomes of releases.
    public var release = StatusCounts()
    /// Transport and protocol failures.
    public var errors = ErrorCounts()
    /// Acquire latency in nanoseconds (request written → response read), any status.
    public var acquireLatency = RunStats.histogram()
    /// Release latency in nanoseconds, any status.
    public var releaseLatency = RunStats.histogram()
    /// Handoff latency in nanoseconds (see ``HandoffTracker``); contended runs only.
    public var handoffLatency = RunStats.histogram()

    /// Creates empty statistics.
    public init() {}

    /// Adds another loop's statistics to these.
    public mutating func merge(_ other: RunStats) {
        cycles += other.cycles
        acquire.add(other.acquire)
        release.add(other.release)
        errors.add(other.errors)
        acquireLatency.add(other.acquireLatency)
        releaseLatency.add(other.releaseLatency)
        handoffLatency.add(other.handoffLatency)
    }

    /// A histogram from 1 ns that grows as needed, at 3 significant digits.
    static func histogram() -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(highestTrackableValue: 60 * 1_000_000_000, numberOfSignificantValueDigits: .three)
        histogram.autoResize = true
        return histogram
    }
}
