import Prometheus
import Testing

@testable import LockdAPI

/// lockd's own timer histograms write exactly what swift-prometheus's
/// `DurationHistogram` writes for the same values: `/metrics` stays the same.
@Suite struct TimerHistogramsTests {
    static let buckets: [Duration] = [.microseconds(100), .microseconds(250), .milliseconds(1), .seconds(1), .seconds(60)]
    /// Below the first bound, on bounds, between them, above the last, zero.
    static let values: [Int64] = [0, 50_000, 100_000, 100_001, 250_000, 999_999, 1_000_000, 5_000_000, 1_000_000_000, 61_000_000_000, 7]

    @Test func writesWhatPrometheusWritesForTheSameValues() {
        let help = #"Time a thing took, with a \ in the help."#
        let registry = PrometheusCollectorRegistry()
        let timers = TimerHistograms()
        for labels: [(String, String)] in [[("route", "acquire")], [("route", "with \"quote\"")]] {
            let theirs = registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(metricName: "test_seconds", unitName: "", helpText: help), labels: labels, buckets: Self.buckets)
            let ours = timers.make(name: "test_seconds", help: help, labels: labels, buckets: Self.buckets)
            for value in Self.values {
                theirs.recordNanoseconds(value)
                ours.recordNanoseconds(value)
            }
        }
        var expected: [UInt8] = []
        registry.emit(into: &expected)
        var written: [UInt8] = []
        timers.emit(into: &written)
        // The registry writes a family's series in its dictionary's order: compare line sets, head first.
        let expectedLines = String(decoding: expected, as: UTF8.self).split(separator: "\n")
        let writtenLines = String(decoding: written, as: UTF8.self).split(separator: "\n")
        #expect(writtenLines.prefix(2) == expectedLines.prefix(2))
        #expect(writtenLines.sorted() == expectedLines.sorted())
        #expect(writtenLines.contains(#"test_seconds_bucket{route="acquire",le="0.00025"} 6"#))
        #expect(writtenLines.contains(#"test_seconds_count{route="acquire"} 11"#))
    }

    @Test func anUnlabeledSeriesAndOneMadeTwiceAreWrittenOnce() {
        let registry = PrometheusCollectorRegistry()
        let timers = TimerHistograms()
        let theirs = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(metricName: "plain_seconds", unitName: "", helpText: "Plain."), labels: [], buckets: Self.buckets)
        let ours = timers.make(name: "plain_seconds", help: "Plain.", labels: [], buckets: Self.buckets)
        #expect(timers.make(name: "plain_seconds", help: "Plain.", labels: [], buckets: Self.buckets) === ours)
        for value in Self.values {
            theirs.recordNanoseconds(value)
            ours.recordNanoseconds(value)
        }
        var expected: [UInt8] = []
        registry.emit(into: &expected)
        var written: [UInt8] = []
        timers.emit(into: &written)
        #expect(String(decoding: written, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        timers.destroy(ours)
        var empty: [UInt8] = []
        timers.emit(into: &empty)
        #expect(empty.isEmpty)
    }
}
