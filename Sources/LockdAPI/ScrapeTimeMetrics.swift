import LockdRedis

/// The series read when `/metrics` is scraped rather than counted as things
/// happen: `lockd_build_info`, `lockd_open_connections`, the Redis client's
/// connections and topology counters, and the `process_*` series.
struct ScrapeTimeMetrics: Sendable {
    /// lockd's version, for `lockd_build_info`.
    let version: String
    /// `redis` or `memory`, for `lockd_build_info`.
    let store: String
    /// HTTP connections open now.
    let openConnections: @Sendable () -> Int
    /// The Redis client's connections and what it has seen of the topology;
    /// nil with the in-memory store, which then exports no Redis series.
    let redis: (@Sendable () -> RedisScrape)?

    /// Appends every series in the text exposition format.
    func emit(into text: inout String) {
        ScrapeText.sample(&text, "lockd_build_info", type: "gauge",
                          help: "Always 1; the labels say which lockd version runs and which store it uses (memory: leases are not shared).",
                          labels: [("version", version), ("store", store)], value: 1)
        ScrapeText.sample(&text, "lockd_open_connections", type: "gauge", help: "HTTP connections open now.",
                          value: Double(openConnections()))
        if let redis {
            let scrape = redis()
            ScrapeText.sample(&text, "lockd_redis_connected", type: "gauge",
                              help: "1 while every connection to Redis is established and past its handshake, else 0.",
                              value: scrape.connections.allReady ? 1 : 0)
            ScrapeText.sample(&text, "lockd_redis_reconnects_total", type: "counter",
                              help: "Connections to Redis established again after they had been lost.",
                              value: Double(scrape.connections.reconnects))
            let topology = scrape.topology
            let counters: [(name: String, help: String, value: Int)] = [
                ("lockd_redis_topology_refreshes_total",
                 "Rounds of asking the Sentinels or CLUSTER SLOTS where the masters are (0 with one server).", topology.refreshes),
                ("lockd_redis_primary_changes_total",
                 "Times a Redis master was replaced: a failover followed, or cluster slots taken over by another master.", topology.primaryChanges),
                ("lockd_redis_redirects_total", "Redis Cluster MOVED and ASK redirections followed.", topology.redirects),
                ("lockd_redis_retries_total",
                 "Redis commands sent again after TRYAGAIN, CLUSTERDOWN, LOADING, READONLY or a connection lost before they were written.",
                 topology.retries),
            ]
            for counter in counters {
                ScrapeText.sample(&text, counter.name, type: "counter", help: counter.help, value: Double(counter.value))
            }
        }
        ProcessMetrics.emit(into: &text)
    }
}

/// What `/metrics` reads from the Redis client at scrape time.
struct RedisScrape: Sendable {
    /// Its connections' state.
    let connections: RedisConnectionStats
    /// Refreshes, failovers, redirections and retries since it started.
    let topology: RedisTopologyStatistics
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
