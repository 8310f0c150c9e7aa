import Histogram

/// How the responses to one kind of request turned out.
public struct StatusCounts: Sendable, Equatable, Codable {
    /// `201`/`200` for an acquire, `204` for a release.
    public var success = 0
    /// `409`: lock held (acquire) or lease lost (release).
    public var conflict = 0
    /// `503`: the server cannot reach its store.
    public var unavailable = 0
    /// Any other status.
    public var other = 0

    /// Creates zero counts.
    public init() {}

    /// Counts one response with `status`, where `successes` are the codes
    /// that mean the request did what it asked.
    public mutating func count(_ status: Int, successes: ClosedRange<Int>) {
        switch status {
        case successes: success += 1
        case 409: conflict += 1
        case 503: unavailable += 1
        default: other += 1
        }
    }

    /// Adds another set of counts to this one.
    public mutating func add(_ other: StatusCounts) {
        success += other.success
        conflict += other.conflict
        unavailable += other.unavailable
        self.other += other.other
    }
}

/// Failures that are not an HTTP status: the connection or the bytes on it.
public struct ErrorCounts: Sendable, Equatable, Codable {
    /// Connections that could not be opened.
    public var connect = 0
    /// Connections the server closed or reset mid-request.
    public var closed = 0
    /// Responses that were not valid HTTP, or a 2xx acquire without a token.
    public var malformed = 0
    /// Requests that got no answer within `wait_ms` plus ten seconds.
    public var timeout = 0

    /// Creates zero counts.
    public init() {}

    /// All errors together.
    public var total: Int { connect + closed + malformed + timeout }

    /// Adds another set of counts to this one.
    public mutating func add(_ other: ErrorCounts) {
        connect += other.connect
        closed += other.closed
        malformed += other.malformed
        timeout += other.timeout
    }
}

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
