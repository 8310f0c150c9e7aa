import Histogram

/// Latency percentiles in milliseconds.
public struct LatencySummary: Sendable, Equatable, Codable {
    /// How many values were recorded.
    public var count: UInt64
    /// Arithmetic mean.
    public var mean: Double
    /// Median.
    public var p50: Double
    /// 90th percentile.
    public var p90: Double
    /// 99th percentile.
    public var p99: Double
    /// 99.9th percentile.
    public var p999: Double
    /// Largest value recorded.
    public var max: Double

    /// Reads the percentiles of a histogram of nanoseconds.
    public init(_ histogram: Histogram<UInt64>) {
        let ms = { (nanoseconds: UInt64) in Double(nanoseconds) / 1_000_000 }
        count = histogram.totalCount
        mean = count == 0 ? 0 : histogram.mean / 1_000_000
        p50 = ms(histogram.valueAtPercentile(50))
        p90 = ms(histogram.valueAtPercentile(90))
        p99 = ms(histogram.valueAtPercentile(99))
        p999 = ms(histogram.valueAtPercentile(99.9))
        max = ms(histogram.max)
    }
}
