import ArgumentParser
import Foundation
import LockbenchCore
import LockdTLS
import LockdTransport

/// `lockbench`: a load generator for a running lockd.
///
/// ```
/// lockbench --url http://127.0.0.1:7070 --clients 64 --duration 10s
/// lockbench --clients 64 --names 4 --wait-ms 5000 --json
/// lockbench --clients 16 --names 1 --limit 4 --wait-ms 5000   # a semaphore
/// lockbench --clients 16 --names 1 --shared                   # readers
/// lockbench --url https://lockd.internal:7070 --tls-ca-file ca.pem
/// lockbench --event-streams 100                               # watchers of the run's locks
/// lockbench --event-streams 1000 --event-prefix idle:         # idle watchers beside the cycle
/// ```
@main
struct LockBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockbench",
        abstract: "Load a lockd server with acquire → release cycles and report throughput and latency.",
        discussion: """
        Each client holds one keep-alive HTTP/1.1 connection (TLS for https://) and loops: POST /locks/{name} \
        with {"ttl_ms":…,"wait_ms":…}, read the token from the 201, DELETE /locks/{name} \
        with Lock-Token, expect 204. A progress line goes to stderr every second; the \
        summary (cycles/s, acquire and release latency percentiles, status counts, \
        errors — and handoff latency when clients share names) goes to stdout. \
        --limit N sends "limit":N (semaphores), --shared "mode":"shared" (readers, \
        who never wait for each other, so no handoff latency is reported).

        --event-streams N opens N GET /events streams (HTTP/1.0, one connection each) \
        before the cycle starts, on the prefix --event-prefix (default: the run's own \
        names, so every stream sees every cycle's events), and reports the events they \
        read in the window and their delivery latency (the event's "at" → read here; \
        1 ms resolution, same machine's clock).

        Names are PREFIX:RUNID:N with a fresh RUNID per run, so runs never meet each \
        other's locks. Locks still held when the run ends are released before exit \
        (connections are closed after at most 3 s of draining).
        """
    )

    @Option(help: "Base URL of the lockd to load (http:// or https://, optionally with a path prefix).")
    var url = "http://127.0.0.1:7070"

    @Option(name: .customLong("tls-ca-file"), help: ArgumentHelp(
        "For https://: PEM file of the CAs that may sign lockd's certificate (default: the system's).", valueName: "file"))
    var tlsCAFile: String?

    @Option(name: .customLong("auth-token"), help: ArgumentHelp(
        "Bearer secret sent with every request, for a lockd with --auth-file (env LOCKD_AUTH_TOKEN).",
        discussion: "The client needs the lock action on the --prefix names."
    ))
    var authToken: String?

    @Option(help: "Concurrent clients, each on its own keep-alive connection with one request in flight.")
    var clients = 32

    @Option(help: ArgumentHelp(
        "Distinct lock names (default: one per client).",
        discussion: "With at least as many names as clients, each client uses its own names (uncontended). With fewer, clients share them and acquires queue up (contended; give --wait-ms so they wait) and handoff latency is reported."
    ))
    var names: Int?

    @Option(help: "How long to run: seconds, or a number with ms, s or m (10, 10s, 500ms, 2m).")
    var duration = "10s"

    @Option(name: .customLong("ttl-ms"), help: "ttl_ms sent with every acquire (100…86400000).")
    var ttlMs = 30_000

    @Option(name: .customLong("wait-ms"), help: "wait_ms sent with every acquire: 0 tries once, more waits up to that long for a held lock.")
    var waitMs = 0

    @Option(help: ArgumentHelp(
        "limit sent with every acquire (1…1000): above 1 each name is a semaphore with that many holders.",
        discussion: "With --names below --clients, up to N clients hold a name at once and the rest wait (give --wait-ms)."
    ))
    var limit = 1

    @Flag(help: "Take shared (reader) leases: every client of a name holds it at once. Not with --limit above 1.")
    var shared = false

    @Option(help: "Send \"durability\" with every acquire: primary or replicated (answered once a Redis replica has the lease). Default: none sent, the server's --durability.")
    var durability: String?

    @Option(name: .customLong("lock-delay-ms"), help: "Send \"lock_delay_ms\" with every acquire (0…60000): a lease that expires keeps its name this much longer. Default 0: none sent.")
    var lockDelayMs = 0

    @Option(help: "Start of every lock name; a unique run id is added after it (PREFIX:RUNID:N).")
    var prefix = "lockbench"

    @Option(name: .customLong("event-streams"), help: "GET /events streams to hold open beside the cycle (0: none).")
    var eventStreams = 0

    @Option(name: .customLong("event-prefix"), help: ArgumentHelp(
        "The prefix the event streams watch (default: the run's PREFIX:RUNID:, so they see its events).", valueName: "prefix"))
    var eventPrefix: String?

    @Option(help: "Event-loop threads driving the clients (one is plenty below ~100 k requests/s and leaves the CPU to the server).")
    var threads = 1

    @Flag(help: "Print the summary as JSON (progress lines still go to stderr).")
    var json = false

    func validate() throws {
        guard clients >= 1, clients <= 100_000 else { throw ValidationError("--clients must be 1…100000") }
        if let names { guard names >= 1, names <= 1_000_000 else { throw ValidationError("--names must be 1…1000000") } }
        guard RunLength.seconds(from: duration) != nil else { throw ValidationError("--duration must look like 10, 10s, 500ms or 2m") }
        guard (100...86_400_000).contains(ttlMs) else { throw ValidationError("--ttl-ms must be 100…86400000") }
        guard waitMs >= 0, waitMs <= 86_400_000 else { throw ValidationError("--wait-ms must be 0…86400000") }
        guard threads >= 1, threads <= 64 else { throw ValidationError("--threads must be 1…64") }
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1…1000") }
        guard durability == nil || ["primary", "replicated"].contains(durability ?? "") else {
            throw ValidationError("--durability must be primary or replicated")
        }
        guard (0...60_000).contains(lockDelayMs) else { throw ValidationError("--lock-delay-ms must be 0…60000") }
        guard (0...100_000).contains(eventStreams) else { throw ValidationError("--event-streams must be 0…100000") }
        if let eventPrefix {
            guard eventPrefix.utf8.count <= 255, eventPrefix.utf8.allSatisfy({ NamePlan.isNameByte($0) }) else {
                throw ValidationError("--event-prefix may hold only A-Z a-z 0-9 . _ : - (at most 255 bytes)")
            }
        }
        guard !shared || limit == 1 else { throw ValidationError("--shared takes no --limit: readers share one lock (a semaphore has exclusive slots)") }
        do {
            let target = try BenchTarget(url: url)
            guard target.isTLS || tlsCAFile == nil else { throw BenchConfigError("--tls-ca-file applies to an https:// --url only") }
            _ = try NamePlan(base: prefix, runID: "x", names: names ?? clients, clients: clients)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// TLS for an https:// target, trusting `--tls-ca-file` or the system's CAs, offering HTTP/1.1.
    private func tls(for target: BenchTarget) throws -> StreamSocket.TLS? {
        guard target.isTLS else { return nil }
        do {
            let context = try TLSClientContext(configuration: TLSClientConfiguration(caFile: tlsCAFile, applicationProtocols: ["http/1.1"]))
            return .client(context, serverName: target.host)
        } catch {
            throw ValidationError("--tls-ca-file: \(error.message)")
        }
    }

    func run() async throws {
        let target = try BenchTarget(url: url)
        let plan = try NamePlan(base: prefix, runID: Self.runID(), names: names ?? clients, clients: clients)
        let seconds = RunLength.seconds(from: duration) ?? 10
        let address: SocketAddress
        do { address = try SocketAddress.resolve(host: target.host, port: target.port) } catch {
            throw ValidationError("cannot resolve \(target.host): \(error)")
        }
        let settings = BenchSettings(
            url: url, clients: clients, names: plan.count, contended: plan.isContended, threads: threads,
            duration: seconds, ttlMs: ttlMs, waitMs: waitMs, namePrefix: plan.prefix, limit: limit, shared: shared,
            durability: durability, lockDelayMs: lockDelayMs, eventStreams: eventStreams > 0 ? eventStreams : nil,
            eventPrefix: eventStreams > 0 ? eventPrefix ?? plan.prefix : nil
        )
        let run = try BenchRun(settings: settings, target: target, address: address, tls: try tls(for: target), plan: plan,
                               authToken: (authToken ?? ProcessInfo.processInfo.environment["LOCKD_AUTH_TOKEN"]).flatMap { $0.isEmpty ? nil : $0 })
        defer { run.shutdown() }
        let summary = try await run.execute()
        print(json ? summary.json() : summary.text())
        if summary.cycles == 0 { throw ExitCode(1) }
    }

    /// Eight hex digits, fresh each run.
    private static func runID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = UInt32.random(in: .min ... .max, using: &generator)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
