// lockd-sdk-bench: withLock round trips through the Swift SDK, for comparison
// with lockbench's raw-HTTP acquire → release cycles at the same concurrency.
//
//     lockd-sdk-bench --url http://127.0.0.1:7070 --tasks 16 --duration 10 [--mode MODE]
//     lockd-sdk-bench --url … --tasks 16 --cycles 200   # a fixed count per task, all counted (instructions.sh)
//
// Each task loops one uncontended acquire → release cycle on its own name for
// the duration, after a one-second warm-up, by MODE:
//   withlock      `withLock(name, ttl: 30 s) { _ in }` (the default: wait until granted)
//   withlock-try  `withLock(name, ttl: 30 s, wait: .zero) { _ in }`
//   generated     the generated client's acquireLock + releaseLock over URLSession, no SDK layer
//   generated-socket  the same over the SDK's SocketTransport
//   urlsession    POST + DELETE with URLSession's data(for:), no OpenAPI runtime
// The last two show what the layers underneath cost. Prints one JSON object:
// cycles/s, cycle latency percentiles (ms), errors, and the CPU this process
// used (percent of one core).
import Foundation
import LockdClient
import OpenAPIRuntime
import OpenAPIURLSession
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var url = URL(string: "http://127.0.0.1:7070")!
    var tasks = 16
    var duration = Duration.seconds(10)
    var mode = "withlock"
    /// A fixed number of cycles per task, all counted, instead of a timed run (for callgrind).
    var cycles: Int?

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw Usage("\(flag) needs a value") }
            switch flag {
            case "--url": url = try URL(string: value).orThrow(Usage("bad --url"))
            case "--tasks": tasks = try Int(value).orThrow(Usage("bad --tasks"))
            case "--cycles": cycles = try Int(value).orThrow(Usage("bad --cycles"))
            case "--duration": duration = .milliseconds(try Double(value).orThrow(Usage("bad --duration")) * 1000)
            case "--mode" where ["withlock", "withlock-try", "generated", "generated-socket", "urlsession"].contains(value): mode = value
            default: throw Usage("unknown \(flag) \(value)")
            }
        }
    }
}

struct Usage: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = "lockd-sdk-bench: \(description)" }
}

extension Optional {
    func orThrow(_ error: some Error) throws -> Wrapped {
        guard let self else { throw error }
        return self
    }
}

/// Cycle latencies and errors of one task, merged at the end.
struct TaskStats: Sendable {
    var latencies: [Double] = []  // milliseconds, measured window only
    var errors = 0
}

func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

let options: Options
do {
    options = try Options(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(64)
}

let locks = LockClient(serverURL: options.url, owner: "lockd-sdk-bench")
let generated = Client(serverURL: options.url, configuration: .init(dateTranscoder: .iso8601WithFractionalSeconds),
                       transport: URLSessionTransport())
let generatedOnSockets = Client(serverURL: options.url, configuration: .init(dateTranscoder: .iso8601WithFractionalSeconds),
                                transport: SocketTransport())
let session = URLSession(configuration: .ephemeral)
let run = String(UInt32.random(in: .min ... .max), radix: 36)

/// One acquire → release cycle on `name`, the way `options.mode` says.
@Sendable func cycle(_ name: String) async throws {
    switch options.mode {
    case "withlock":
        try await locks.withLock(name, ttl: .seconds(30)) { _ in }
    case "withlock-try":
        try await locks.withLock(name, ttl: .seconds(30), wait: .zero) { _ in }
    case "generated", "generated-socket":
        let generated = options.mode == "generated" ? generated : generatedOnSockets
        let output = try await generated.acquireLock(path: .init(name: name), body: .json(.init(ttlMs: 30_000)))
        guard case .created(let created) = output else { throw Usage("acquire answered \(output)") }
        let token = try created.body.json.token
        guard case .noContent = try await generated.releaseLock(path: .init(name: name), headers: .init(lockToken: token)) else {
            throw Usage("release failed")
        }
    default:
        var acquire = URLRequest(url: options.url.appendingPathComponent("locks/\(name)"))
        acquire.httpMethod = "POST"
        acquire.httpBody = Data(#"{"ttl_ms":30000}"#.utf8)
        let (data, response) = try await session.data(for: acquire)
        guard (response as? HTTPURLResponse)?.statusCode == 201,
              let lease = try JSONSerialization.jsonObject(with: data) as? [String: Any], let token = lease["token"] as? String
        else { throw Usage("acquire failed") }
        var release = URLRequest(url: options.url.appendingPathComponent("locks/\(name)"))
        release.httpMethod = "DELETE"
        release.setValue(token, forHTTPHeaderField: "Lock-Token")
        guard (try await session.data(for: release).1 as? HTTPURLResponse)?.statusCode == 204 else { throw Usage("release failed") }
    }
}
let warmUpEnds = options.cycles == nil ? ContinuousClock.now + .seconds(1) : .now
let ends = options.cycles == nil ? warmUpEnds + options.duration : warmUpEnds
let cpuAtStart = Mutex(0.0)

/// Runs every task's cycles and merges their figures.
@Sendable func runTasks() async -> TaskStats {
    await withTaskGroup(of: TaskStats.self) { group in
        for task in 0..<options.tasks {
            group.addTask {
                var stats = TaskStats()
                let name = "sdkbench:\(run):\(task)"
                var count = 0
                while true {
                    let start = ContinuousClock.now
                    if let cycles = options.cycles {
                        guard count < cycles else { break }
                        count += 1
                    } else {
                        guard start < ends else { break }
                    }
                    do {
                        try await cycle(name)
                        if start >= warmUpEnds {
                            let elapsed = ContinuousClock.now - start
                            stats.latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                        }
                    } catch {
                        stats.errors += 1
                    }
                }
                return stats
            }
        }
        try? await Task.sleep(until: warmUpEnds, clock: .continuous)
        cpuAtStart.withLock { $0 = processCPUSeconds() }
        var merged = TaskStats()
        for await stats in group {
            merged.latencies += stats.latencies
            merged.errors += stats.errors
        }
        return merged
    }
}

// A synchronous main thread waiting for the tasks: valgrind (callgrind) cannot
// run an async main.
let finished = DispatchSemaphore(value: 0)
let results = Mutex(TaskStats())
Task.detached {
    let merged = await runTasks()
    results.withLock { $0 = merged }
    finished.signal()
}
finished.wait()
let stats = results.withLock { $0 }
let elapsed = ContinuousClock.now - warmUpEnds
let measured = options.cycles == nil ? options.duration : elapsed
let seconds = Double(measured.components.seconds) + Double(measured.components.attoseconds) / 1e18
let cpu = processCPUSeconds() - cpuAtStart.withLock { $0 }
let sorted = stats.latencies.sorted()
let summary: [String: Any] = [
    "tasks": options.tasks,
    "mode": options.mode,
    "seconds": seconds,
    "cycles": sorted.count,
    "cycles_per_second": Double(sorted.count) / seconds,
    "latency_ms": ["p50": percentile(sorted, 0.5), "p90": percentile(sorted, 0.9), "p99": percentile(sorted, 0.99),
                   "p999": percentile(sorted, 0.999), "max": sorted.last ?? 0],
    "errors": stats.errors,
    "cpu_percent": cpu / seconds * 100,
]
let json = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
print(String(decoding: json, as: UTF8.self))
