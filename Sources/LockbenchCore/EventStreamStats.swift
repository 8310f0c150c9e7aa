import Histogram

/// What lockbench's event streams (`--event-streams`) received.
public struct EventStreamStats: Sendable {
    /// Events received inside the measured window.
    public var events: UInt64 = 0
    /// Event's `at` → event read, in nanoseconds (at the `at`'s millisecond
    /// resolution; both clocks are this machine's wall clock on loopback).
    public var latency = RunStats.histogram()
    /// Streams that lockd ended during the run (a reader that fell behind,
    /// a shutdown), or that did not open with `200`.
    public var ended = 0
    /// Events whose data had no readable `at`.
    public var unreadable = 0

    /// Creates empty statistics.
    public init() {}

    /// Counts one event that happened at `atMs` (ms since 1970) and was read at `nowMs`.
    public mutating func received(atMs: Int64, nowMs: Double) {
        events += 1
        _ = latency.record(UInt64(max(0, (nowMs - Double(atMs)) * 1_000_000)))
    }
}

/// The event streams' figures in a ``BenchSummary``.
public struct EventStreamSummary: Sendable, Equatable, Codable {
    /// Streams opened beside the cycle.
    public var streams: Int
    /// The prefix they watched.
    public var prefix: String
    /// Events received in the window, over all streams.
    public var events: UInt64
    /// `events` per second of the window.
    public var perSecond: Double
    /// Event's `at` → read by lockbench, in milliseconds (1 ms resolution).
    public var latencyMs: LatencySummary
    /// Streams lockd ended, or that did not open.
    public var ended: Int
    /// Events without a readable `at`.
    public var unreadable: Int

    /// Summarises `stats` of `streams` streams on `prefix` over `seconds`.
    public init(streams: Int, prefix: String, stats: EventStreamStats, seconds: Double) {
        self.streams = streams
        self.prefix = prefix
        events = stats.events
        perSecond = seconds > 0 ? Double(stats.events) / seconds : 0
        latencyMs = LatencySummary(stats.latency)
        ended = stats.ended
        unreadable = stats.unreadable
    }
}
