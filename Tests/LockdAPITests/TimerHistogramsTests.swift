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
            _ = Self.recordBoth(registry, timers, name: "test_seconds", help: help, labels: labels)
        }
        // The registry writes a family's series in its dictionary's order: compare line sets, head first.
        let (expected, written) = Self.emitted(registry, timers)
        let expectedLines = expected.split(separator: "\n")
        let writtenLines = written.split(separator: "\n")
        #expect(writtenLines.prefix(2) == expectedLines.prefix(2))
        #expect(writtenLines.sorted() == expectedLines.sorted())
        #expect(writtenLines.contains(#"test_seconds_bucket{route="acquire",le="0.00025"} 6"#))
        #expect(writtenLines.contains(#"test_seconds_count{route="acquire"} 11"#))
    }

    @Test func anUnlabeledSeriesAndOneMadeTwiceAreWrittenOnce() {
        let registry = PrometheusCollectorRegistry()
        let timers = TimerHistograms()
        let ours = Self.recordBoth(registry, timers, name: "plain_seconds", help: "Plain.", labels: [])
        #expect(timers.make(name: "plain_seconds", help: "Plain.", labels: [], buckets: Self.buckets) === ours)
        let (expected, written) = Self.emitted(registry, timers)
        #expect(written == expected)
        timers.destroy(ours)
        var empty: [UInt8] = []
        timers.emit(into: &empty)
        #expect(empty.isEmpty)
    }

    /// Records from four tasks at once (counted in atomics, without a
    /// lock) are all counted: each bucket, the count and the sum are what
    /// the same values recorded one after another give.
    @Test func recordsFromSeveralTasksAtOnceAreAllCounted() async {
        let timers = TimerHistograms()
        let together = timers.make(name: "together_seconds", help: "", labels: [], buckets: Self.buckets)
        let alone = TimerHistograms()
        let inTurn = alone.make(name: "together_seconds", help: "", labels: [], buckets: Self.buckets)
        let rounds = 5_000
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<rounds {
                        for value in Self.values { together.recordNanoseconds(value) }
                    }
                }
            }
        }
        for _ in 0..<(4 * rounds) {
            for value in Self.values { inTurn.recordNanoseconds(value) }
        }
        var written: [UInt8] = []
        timers.emit(into: &written)
        var expected: [UInt8] = []
        alone.emit(into: &expected)
        #expect(String(decoding: written, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        #expect(String(decoding: written, as: UTF8.self).contains("together_seconds_count \(4 * rounds * Self.values.count)\n"))
    }

    /// Makes the series in both and records ``values`` into both; returns ours.
    private static func recordBoth(
        _ registry: PrometheusCollectorRegistry, _ timers: TimerHistograms, name: String, help: String, labels: [(String, String)]
    ) -> TimerHistogram {
        let theirs = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels, buckets: buckets)
        let ours = timers.make(name: name, help: help, labels: labels, buckets: buckets)
        for value in values {
            theirs.recordNanoseconds(value)
            ours.recordNanoseconds(value)
        }
        return ours
    }

    /// What the registry writes, then what ours write.
    private static func emitted(_ registry: PrometheusCollectorRegistry, _ timers: TimerHistograms) -> (String, String) {
        var expected: [UInt8] = []
        registry.emit(into: &expected)
        var written: [UInt8] = []
        timers.emit(into: &written)
        return (String(decoding: expected, as: UTF8.self), String(decoding: written, as: UTF8.self))
    }
}
