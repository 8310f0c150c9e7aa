/// A scrape of `/metrics` (Prometheus text format), parsed for tests.
///
/// ```swift
/// let scrape = MetricsScrape(try await lockd.send("GET", "/metrics").text)
/// #expect(scrape.value("lockd_acquires_total", ["outcome": "granted"]) == 1)
/// ```
public struct MetricsScrape: Sendable {
    /// One sample line.
    public struct Sample: Sendable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    /// The text as scraped.
    public let text: String
    /// Every sample, in order.
    public let samples: [Sample]
    /// `# TYPE` by family name.
    public let types: [String: String]
    /// `# HELP` by family name.
    public let helps: [String: String]

    /// Parses `text`.
    public init(_ text: String) {
        self.text = text
        var samples: [Sample] = []
        var types: [String: String] = [:]
        var helps: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") || line.hasPrefix("# HELP ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { continue }
                if line.hasPrefix("# TYPE ") { types[String(parts[0])] = String(parts[1]) } else { helps[String(parts[0])] = String(parts[1]) }
                continue
            }
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            var labels: [String: String] = [:]
            var name = String(series)
            if let brace = series.firstIndex(of: "{") {
                name = String(series[..<brace])
                for pair in series[series.index(after: brace)...].dropLast().split(separator: ",") {
                    let keyValue = pair.split(separator: "=", maxSplits: 1)
                    guard keyValue.count == 2 else { continue }
                    labels[String(keyValue[0])] = String(keyValue[1].dropFirst().dropLast())
                }
            }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        self.samples = samples
        self.types = types
        self.helps = helps
    }

    /// The value of the one sample named `name` whose labels include `labels`;
    /// nil when there is none.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        matching(name, labels).first?.value
    }

    /// The sum over every sample named `name` whose labels include `labels`
    /// (0 when there is none).
    public func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        matching(name, labels).reduce(0) { $0 + $1.value }
    }

    /// The `le` bounds of histogram `name`'s buckets for the series with `labels`.
    public func bucketBounds(_ name: String, _ labels: [String: String] = [:]) -> [Double] {
        matching(name + "_bucket", labels).compactMap { $0.labels["le"].flatMap { $0 == "+Inf" ? .infinity : Double($0) } }
    }

    private func matching(_ name: String, _ labels: [String: String]) -> [Sample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }
}
