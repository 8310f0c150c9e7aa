import ArgumentParser
import Histogram
import LockdRedis
import LockdTransport
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Drives a Redis server through ``RedisClient`` from N concurrent callers and
/// prints throughput and latency percentiles, to compare with
/// `redis-benchmark` for the same commands and concurrency.
///
/// ```
/// swift run -c release redisbench --url redis://127.0.0.1:6379 --concurrency 50 --workload set
/// ```
@main
struct RedisBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark lockd's Redis client: N concurrent callers, each sending one command (or one pipeline) at a time."
    )

    @Option(help: "Redis URL; rediss:// for TLS; redis+cluster:// or redis+sentinel:// for those deployments.")
    var url = "redis://127.0.0.1:6379"

    @Option(help: "With rediss://: PEM file of the CAs that sign the server's certificate (default: the system's).")
    var tlsCAFile: String?

    @Option(help: "Concurrent callers (tasks), each waiting for its reply before sending again.")
    var concurrency = 50

    @Option(help: "Seconds to measure, after one second of warm-up.")
    var seconds = 5.0

    @Option(help: "set, get, or evalsha (SET NX PX plus INCR, a lock acquire).")
    var workload = Workload.set

    @Option(help: "Commands each caller sends per round trip through RedisClient.pipeline; 1 sends them one by one.")
    var pipeline = 1

    @Option(help: "Event loops (threads); callers are spread over them.")
    var loops = System.coreCount

    @Option(help: "Redis connections per event loop.")
    var connectionsPerLoop = 1

    @Option(help: "Keys are drawn at random from this many.")
    var keyspace = 100_000

    enum Workload: String, ExpressibleByArgument, CaseIterable {
        case set, get, evalsha
    }

    static let acquire = RedisScript("""
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
            return redis.call('INCR', KEYS[2])
        end
        return false
        """)

    func validate() throws {
        guard pipeline >= 1, concurrency >= 1, loops >= 1 else {
            throw ValidationError("--pipeline, --concurrency and --loops must be at least 1")
        }
    }

    func run() async throws {
        var configuration = try RedisConfiguration(url: url)
        configuration.connectionsPerLoop = connectionsPerLoop
        configuration.tls?.caFile = tlsCAFile
        configuration.commandTimeout = .seconds(5)
        let group = try EventLoopGroup(loopCount: loops, namePrefix: "redisbench")
        let client = RedisClient(configuration: configuration, eventLoopGroup: group, logger: Logger(label: "redisbench"))
        try await retryingWhileStarting { () async throws(RedisError) in try await client.ping() }
        for shard in try await client.sendToEveryShard(["SCRIPT", "LOAD", .string(Self.acquire.source)]) { _ = try shard.result.get() }
        // A cluster needs the script's two keys in one slot.
        let isCluster = if case .cluster = configuration.deployment { true } else { false }

        let warmUpEnd = MonotonicClock.now() + 1_000_000_000
        let end = warmUpEnd + UInt64(seconds * 1e9)
        let (workload, keyspace) = (self.workload, self.keyspace)
        var total = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        let cpuStart = Self.processCPUTime()
        var allRequests = 0
        await withTaskGroup(of: (Histogram<UInt64>, Int).self) { tasks in
            for caller in 0..<concurrency {
                tasks.addTask(executorPreference: group.loops[caller % group.loops.count]) {
                    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
                    // getrandom(2) per key would cost more than the command: a cheap PRNG.
                    var requests = 0
                    var random = Xorshift(seed: UInt64(caller) &+ 0x9E37_79B9_7F4A_7C15)
                    while true {
                        let started = MonotonicClock.now()
                        if started >= end { break }
                        do {
                            if pipeline == 1 {
                                _ = try await client.send(workload.command(key: Int.random(in: 0..<keyspace, using: &random), tagged: isCluster))
                            } else {
                                let commands = (0..<pipeline).map { _ in
                                    workload.command(key: Int.random(in: 0..<keyspace, using: &random), tagged: isCluster)
                                }
                                for reply in try await client.pipeline(commands) { _ = try reply.get() }
                            }
                        } catch {
                            print("error: \(error)")
                            break
                        }
                        requests += pipeline
                        if started >= warmUpEnd {
                            // Each command of a pipeline waited as long as the pipeline did.
                            _ = histogram.record(MonotonicClock.now() - started, count: UInt64(pipeline))
                        }
                    }
                    return (histogram, requests)
                }
            }
            for await (histogram, requests) in tasks {
                total.add(histogram)
                allRequests += requests
            }
        }
        let cpu = Self.processCPUTime() - cpuStart
        await client.shutdown()
        group.shutdown()

        func milliseconds(_ nanoseconds: UInt64) -> String {
            "\((Double(nanoseconds) / 1e3).rounded() / 1e3)"
        }
        let rate = Double(total.totalCount) / seconds
        print("workload=\(workload.rawValue) concurrency=\(concurrency) pipeline=\(pipeline) loops=\(loops) connections/loop=\(connectionsPerLoop)")
        print("requests/s=\(Int(rate)) p50_ms=\(milliseconds(total.valueAtPercentile(50))) p99_ms=\(milliseconds(total.valueAtPercentile(99))) p99.9_ms=\(milliseconds(total.valueAtPercentile(99.9))) max_ms=\(milliseconds(total.max))")
        // CPU per request barely depends on what else the machine runs, unlike requests/s.
        print("client_cpu_us_per_request=\((Double(cpu) / 1e3 / Double(allRequests) * 100).rounded() / 100)")
    }
}

extension RedisBench.Workload {
    /// The workload's command for `key`, as `redis-benchmark` sends it;
    /// `tagged` puts the script's keys in one cluster slot (`lock:{N}`, `fence:{N}`).
    func command(key: Int, tagged: Bool = false) -> RedisCommand {
        switch self {
        case .set: ["SET", .string("key:\(key)"), "xxx"]
        case .get: ["GET", .string("key:\(key)")]
        case .evalsha:
            tagged
                ? ["EVALSHA", .string(RedisBench.acquire.sha1), "2", .string("lock:{\(key)}"), .string("fence:{\(key)}"), "token", "1000"]
                : ["EVALSHA", .string(RedisBench.acquire.sha1), "2", .string("lock:\(key)"), .string("fence:\(key)"), "token", "1000"]
        }
    }
}

/// Retries `body` for up to 5 s: a Sentinel or Cluster client needs a moment
/// to find its masters.
private func retryingWhileStarting(_ body: () async throws(RedisError) -> Void) async throws {
    let deadline = MonotonicClock.now() + 5_000_000_000
    while true {
        do throws(RedisError) {
            return try await body()
        } catch {
            if MonotonicClock.now() > deadline { throw error }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

extension RedisBench {
    /// CPU time this process used, in nanoseconds (all threads).
    static func processCPUTime() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// xorshift64*: cheap pseudo-random keys for the workload.
struct Xorshift: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed | 1 }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
