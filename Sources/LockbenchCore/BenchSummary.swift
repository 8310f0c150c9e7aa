import Foundation
import Histogram

/// How acquires or releases fared: status counts and latency.
public struct OperationSummary: Sendable, Equatable, Codable {
    /// Responses by status class.
    public var statuses: StatusCounts
    /// Request written → response read, any status.
    public var latencyMs: LatencySummary
}

/// Release-to-next-grant figures of a contended run.
public struct HandoffSummary: Sendable, Equatable, Codable {
    /// Grants that went to a waiter queued before the release was seen.
    public var handoffs: UInt64
    /// `handoffs` per second of the measured window.
    public var perSecond: Double
    /// Handoffs whose grant was noticed before its release (recorded as 0 ms).
    public var reordered: Int
    /// Release `204` seen → waiter's `201` seen.
    public var latencyMs: LatencySummary
}

/// The result of a run, as printed at the end (`--json` prints this object).
public struct BenchSummary: Sendable, Equatable, Codable {
    /// What was run.
    public var settings: BenchSettings
    /// The measured window in seconds.
    public var seconds: Double
    /// Acquire→release cycles completed in the window.
    public var cycles: Int
    /// `cycles / seconds`.
    public var cyclesPerSecond: Double
    /// Acquire outcomes and latency.
    public var acquire: OperationSummary
    /// Release outcomes and latency.
    public var release: OperationSummary
    /// Handoff figures; present for contended runs other than shared ones.
    public var handoff: HandoffSummary?
    /// Transport and protocol failures.
    public var errors: ErrorCounts
    /// The event streams' figures; present with `--event-streams`.
    public var events: EventStreamSummary?
    /// CPU lockbench itself used in the window, in percent of one core: when
    /// it nears 100 × threads, the load generator is the bottleneck.
    public var lockbenchCpuPercent: Double

    /// Summarises merged statistics over a window of `seconds` in which
    /// lockbench used `cpuSeconds` of CPU time.
    public init(settings: BenchSettings, stats: RunStats, seconds: Double, reorderedHandoffs: Int, cpuSeconds: Double = 0,
                events: EventStreamStats? = nil) {
        self.settings = settings
        self.seconds = seconds
        lockbenchCpuPercent = seconds > 0 ? cpuSeconds / seconds * 100 : 0
        cycles = stats.cycles
        cyclesPerSecond = seconds > 0 ? Double(stats.cycles) / seconds : 0
        acquire = OperationSummary(statuses: stats.acquire, latencyMs: LatencySummary(stats.acquireLatency))
        release = OperationSummary(statuses: stats.release, latencyMs: LatencySummary(stats.releaseLatency))
        handoff = settings.contended && !settings.shared ? HandoffSummary(
            handoffs: stats.handoffLatency.totalCount,
            perSecond: seconds > 0 ? Double(stats.handoffLatency.totalCount) / seconds : 0,
            reordered: reorderedHandoffs,
            latencyMs: LatencySummary(stats.handoffLatency)
        ) : nil
        errors = stats.errors
        self.events = events.map {
            EventStreamSummary(streams: settings.eventStreams ?? 0, prefix: settings.eventPrefix ?? "", stats: $0, seconds: seconds)
        }
    }

    /// The summary as pretty-printed JSON with snake_case keys.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The summary as the text table printed at the end of a run.
    public func text() -> String {
        var lines: [String] = []
        let mode = settings.contended ? "contended, wait_ms \(settings.waitMs)" : "uncontended"
        let kind = settings.shared ? ", shared (readers)" : settings.limit > 1 ? ", semaphores of limit \(settings.limit)" : ""
        lines.append("lockbench \(settings.url): \(settings.clients) clients, \(settings.names) names (\(mode)\(kind)), \(settings.threads) thread(s), ttl_ms \(settings.ttlMs)")
        lines.append(String(format: "cycles: %d in %.2f s = %.1f cycles/s", cycles, seconds, cyclesPerSecond))
        lines.append("latency (ms)      count      mean       p50       p90       p99     p99.9       max")
        lines.append(Self.row("acquire", acquire.latencyMs))
        lines.append(Self.row("release", release.latencyMs))
        if let handoff { lines.append(Self.row("handoff", handoff.latencyMs)) }
        if let events { lines.append(Self.row("event", events.latencyMs)) }
        lines.append(Self.statusLine("acquire", acquire.statuses, success: "201"))
        lines.append(Self.statusLine("release", release.statuses, success: "204"))
        lines.append(String(format: "lockbench CPU: %.0f%% of one core (%d thread(s))", lockbenchCpuPercent, settings.threads))
        if lockbenchCpuPercent > 80 * Double(settings.threads) {
            lines.append("warning: lockbench's own threads were nearly saturated, so it may have limited the rate: try --threads \(settings.threads + 1)")
        }
        lines.append("errors:  \(errors.total) (connect \(errors.connect), closed \(errors.closed), malformed \(errors.malformed), timeout \(errors.timeout))")
        if let events {
            lines.append(String(format: "events: %llu = %.1f/s on %d stream(s)", events.events, events.perSecond, events.streams)
                + " of prefix \"\(events.prefix)\" (\(events.ended) ended by lockd or not opened, \(events.unreadable) unreadable)")
            lines.append("event = the event's \"at\" (lockd's store clock, 1 ms resolution) → read by lockbench (this machine's clock)")
        }
        if let handoff {
            lines.append(String(format: "handoffs: %llu = %.1f/s (%d seen out of order, recorded as 0)", handoff.handoffs, handoff.perSecond, handoff.reordered))
            lines.append("handoff = release's 204 read → next waiter's 201 read, both timed by this process's monotonic clock;")
            lines.append("          it includes lockbench's own read delay (up to one event-loop pass) and excludes grants to acquires sent after the release.")
        }
        return lines.joined(separator: "\n")
    }

    private static func row(_ label: String, _ latency: LatencySummary) -> String {
        let values = [latency.mean, latency.p50, latency.p90, latency.p99, latency.p999, latency.max]
        return label.padding(toLength: 12, withPad: " ", startingAt: 0)
            + String(format: "%11llu", latency.count)
            + values.map { String(format: "%10.3f", $0) }.joined()
    }

    private static func statusLine(_ label: String, _ counts: StatusCounts, success: String) -> String {
        "\(label): \(success) \(counts.success), 409 \(counts.conflict), 503 \(counts.unavailable), other \(counts.other)"
    }
}
