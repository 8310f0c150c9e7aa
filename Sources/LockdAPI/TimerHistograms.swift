import CoreMetrics
import Prometheus
import Synchronization

/// lockd's timers (`*_seconds` histograms), kept apart from the Prometheus
/// registry and written into `/metrics` in the registry's own text form:
/// same names, labels, buckets, `# HELP` and `# TYPE` lines, `le` and sum
/// written by swift-prometheus's `Duration.bucketRepresentation`.
///
/// Why not swift-prometheus's `DurationHistogram`: its `record` adds one to
/// every bucket at or above the value (18–21 buckets), each comparison a
/// call into the standard library's `Duration` `<`, under a lock: ~1 k
/// instructions per record, and every request records one to three
/// (~3.5% of a `/healthz`'s instructions). Here a record finds its one
/// bucket by comparing nanoseconds and adds to it; the cumulative counts
/// are summed when scraped.
final class TimerHistograms: Sendable {
    private struct Family {
        let help: String
        let buckets: [Duration]
        var series: [TimerHistogram]
    }

    /// Families in the order first made (the registry's order is its
    /// dictionary's: no reader may depend on either).
    private let families = Mutex<[(name: String, family: Family)]>([])

    /// The histogram `name` with `labels`; the one already made for the
    /// same name and labels, as the registry does.
    func make(name: String, help: String, labels: [(String, String)], buckets: [Duration]) -> TimerHistogram {
        families.withLock { families in
            guard let index = families.firstIndex(where: { $0.name == name }) else {
                let histogram = TimerHistogram(name: name, labels: labels, buckets: buckets)
                families.append((name, Family(help: help, buckets: buckets, series: [histogram])))
                return histogram
            }
            precondition(families[index].family.buckets == buckets, "the histogram \(name) is made with other buckets")
            if let made = families[index].family.series.first(where: { Self.sameLabels($0.labels, labels) }) {
                return made
            }
            let histogram = TimerHistogram(name: name, labels: labels, buckets: buckets)
            families[index].family.series.append(histogram)
            return histogram
        }
    }

    /// Drops `histogram` from what ``emit(into:)`` writes.
    func destroy(_ histogram: TimerHistogram) {
        families.withLock { families in
            guard let index = families.firstIndex(where: { $0.name == histogram.name }) else { return }
            families[index].family.series.removeAll { $0 === histogram }
            if families[index].family.series.isEmpty { families.remove(at: index) }
        }
    }

    /// Appends every family as the Prometheus registry writes a `DurationHistogram`'s.
    func emit(into buffer: inout [UInt8]) {
        for (name, family) in families.withLock({ $0 }) {
            if !family.help.isEmpty {
                buffer.append(contentsOf: "# HELP \(name) ".utf8)
                for byte in family.help.utf8 where byte != UInt8(ascii: "\n") {
                    if byte == UInt8(ascii: "\\") { buffer.append(byte) }
                    buffer.append(byte)
                }
                buffer.append(UInt8(ascii: "\n"))
            }
            buffer.append(contentsOf: "# TYPE \(name) histogram\n".utf8)
            for histogram in family.series { histogram.emit(into: &buffer) }
        }
    }

    private static func sameLabels(_ lhs: [(String, String)], _ rhs: [(String, String)]) -> Bool {
        lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

/// One series of a timer histogram: a count per bucket (not cumulative)
/// and their sum in nanoseconds; the number of values is the counts' total.
///
/// Counted in atomics, not under a lock: a record adds to its bucket and to
/// the sum, two atomic additions, where taking a `Mutex` and writing its
/// state's array (made unique first) cost ~70 instructions a record, and a
/// lock request records two or more. A scrape reads the counts one by one:
/// a record made meanwhile may be in the sum and not yet in its bucket, or
/// the other way round — the count and the `+Inf` bucket are the buckets'
/// total, so they always agree with the buckets.
///
/// `@unchecked Sendable`: the only state that is not `Sendable` by type is
/// `counts`, a buffer of atomics allocated and initialized in `init`,
/// deinitialized and freed in `deinit`, never reassigned, and read and
/// written only through those atomics' own operations.
final class TimerHistogram: TimerHandler, @unchecked Sendable {
    let name: String
    let labels: [(String, String)]
    private let buckets: [Duration]
    /// The buckets' upper bounds in nanoseconds, compared without calls.
    private let bounds: [Int64]
    /// One count per bucket, then one for values above the last (`+Inf`).
    private let counts: UnsafeMutablePointer<Atomic<Int>>
    private let sumNanoseconds = Atomic<Int64>(0)

    init(name: String, labels: [(String, String)], buckets: [Duration]) {
        self.name = name
        self.labels = labels
        self.buckets = buckets
        bounds = buckets.map { bucket in
            let (seconds, attoseconds) = bucket.components
            return seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
                ? Int64.max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        }
        precondition(zip(buckets, buckets.dropFirst()).allSatisfy { $0 < $1 }, "buckets must ascend")
        counts = .allocate(capacity: buckets.count + 1)
        for index in 0...buckets.count { (counts + index).initialize(to: Atomic(0)) }
    }

    deinit {
        counts.deinitialize(count: buckets.count + 1)
        counts.deallocate()
    }

    func recordNanoseconds(_ duration: Int64) {
        // Prometheus's `le`: the first bucket whose bound is at or above the value.
        var bucket = 0
        while bucket < bounds.count && bounds[bucket] < duration { bucket += 1 }
        counts[bucket].wrappingAdd(1, ordering: .relaxed)
        sumNanoseconds.wrappingAdd(duration, ordering: .relaxed)
    }

    /// Appends the series' lines as swift-prometheus's `Histogram.emit` does.
    func emit(into buffer: inout [UInt8]) {
        let bucketCounts = (0...buckets.count).map { counts[$0].load(ordering: .relaxed) }
        let count = bucketCounts.reduce(0, +)
        let sumNanoseconds = sumNanoseconds.load(ordering: .relaxed)
        let labelText = labels.map { "\($0.0)=\"\(Self.escaped($0.1))\"" }.joined(separator: ",")
        let labelPrefix = labelText.isEmpty ? "" : labelText + ","
        var cumulative = 0
        for (index, bucket) in buckets.enumerated() {
            cumulative += bucketCounts[index]
            buffer.append(contentsOf: "\(name)_bucket{\(labelPrefix)le=\"\(bucket.bucketRepresentation)\"} \(cumulative)\n".utf8)
        }
        buffer.append(contentsOf: "\(name)_bucket{\(labelPrefix)le=\"+Inf\"} \(count)\n".utf8)
        let braced = labelText.isEmpty ? " " : "{\(labelText)} "
        let sum = Duration.nanoseconds(sumNanoseconds).bucketRepresentation
        buffer.append(contentsOf: "\(name)_sum\(braced)\(sum)\n".utf8)
        buffer.append(contentsOf: "\(name)_count\(braced)\(count)\n".utf8)
    }

    /// A label value escaped as the text format asks (backslash, quote, line feed).
    private static func escaped(_ value: String) -> String {
        var escaped = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}
