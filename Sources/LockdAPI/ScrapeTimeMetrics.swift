import LockdRedis

/// The series read when `/metrics` is scraped rather than counted as things
/// happen: `lockd_build_info`, `lockd_open_connections`, the Redis
/// connection's state and the `process_*` series.
struct ScrapeTimeMetrics: Sendable {
    /// lockd's version, for `lockd_build_info`.
    let version: String
    /// `redis` or `memory`, for `lockd_build_info`.
    let store: String
    /// HTTP connections open now.
    let openConnections: @Sendable () -> Int
    /// The Redis client's connections; nil with the in-memory store, which
    /// then exports no Redis series.
    let redis: (@Sendable () -> RedisConnectionStats)?

    /// Appends every series in the text exposition format.
    func emit(into text: inout String) {
        ScrapeText.sample(&text, "lockd_build_info", type: "gauge",
                          help: "Always 1; the labels say which lockd version runs and which store it uses (memory: leases are not shared).",
                          labels: [("version", version), ("store", store)], value: 1)
        ScrapeText.sample(&text, "lockd_open_connections", type: "gauge", help: "HTTP connections open now.",
                          value: Double(openConnections()))
        if let redis {
            let stats = redis()
            ScrapeText.sample(&text, "lockd_redis_connected", type: "gauge",
                              help: "1 while every connection to Redis is established and past its handshake, else 0.",
                              value: stats.allReady ? 1 : 0)
            ScrapeText.sample(&text, "lockd_redis_reconnects_total", type: "counter",
                              help: "Connections to Redis established again after they had been lost.",
                              value: Double(stats.reconnects))
        }
        ProcessMetrics.emit(into: &text)
    }
}

/// Writes one single-sample family of the Prometheus text format.
enum ScrapeText {
    static func sample(
        _ text: inout String, _ name: String, type: String, help: String, labels: [(String, String)] = [], value: Double
    ) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name)"
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(escaped($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + (value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)) + "\n"
    }

    private static func escaped(_ value: String) -> String {
        var result = ""
        for character in value {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.append(character)
            }
        }
        return result
    }
}
