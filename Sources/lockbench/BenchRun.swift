import Foundation
import LockbenchCore
import LockdTransport

#if canImport(Glibc)
import Glibc
#endif

/// One run: event loops, their workers, the progress line and the summary.
final class BenchRun: Sendable {
    private let settings: BenchSettings
    private let group: EventLoopGroup
    private let workers: [LoopWorker]
    private let handoffs: HandoffBook?
    private let live: LiveCounters
    private let events: EventStreams?

    /// Starts the event loops and spreads the clients over them round-robin.
    /// - Throws: ``TransportError`` when a loop cannot be started.
    init(settings: BenchSettings, target: BenchTarget, address: SocketAddress, tls: StreamSocket.TLS?, plan: NamePlan, authToken: String?) throws {
        let group = try EventLoopGroup(loopCount: settings.threads, namePrefix: "lockbench")
        // Readers never wait for each other: nothing is handed over.
        let handoffs = plan.isContended && !settings.shared ? HandoffBook(names: plan.count, limit: settings.limit) : nil
        let live = LiveCounters()
        let requests = LockRequests(target: target, ttlMs: settings.ttlMs, waitMs: settings.waitMs,
                                    limit: settings.limit, shared: settings.shared,
                                    durability: settings.durability, lockDelayMs: settings.lockDelayMs, authToken: authToken)
        self.settings = settings
        self.group = group
        self.handoffs = handoffs
        self.live = live
        events = settings.eventStreams.map {
            EventStreams(count: $0, prefix: settings.eventPrefix ?? plan.prefix, target: target, address: address, tls: tls,
                         authToken: authToken, loops: group.loops)
        }
        workers = group.loops.indices.map { index in
            LoopWorker(
                loop: group.loops[index], address: address, tls: tls, plan: plan, requests: requests, waitMs: settings.waitMs,
                clientIDs: Array(stride(from: index, to: settings.clients, by: settings.threads)),
                handoffs: handoffs, live: live
            )
        }
    }

    /// Stops the event loops.
    func shutdown() {
        group.shutdown()
    }

    /// Connects every client, runs for the configured duration with a
    /// progress line each second, drains, and summarises.
    /// - Throws: ``BenchConfigError`` when clients cannot connect.
    func execute() async throws -> BenchSummary {
        let failures = await withTaskGroup(of: [String].self) { group in
            for worker in workers { group.addTask { await worker.connectAll() } }
            return await group.reduce(into: []) { $0 += $1 }
        }
        if let first = failures.first {
            _ = await stopAll()
            throw BenchConfigError("\(failures.count) of \(settings.clients) connections failed; first: \(first)")
        }
        await events?.open()
        let start = MonotonicClock.now()
        let length = UInt64(settings.duration * 1_000_000_000)
        let deadline = start + length
        events?.measure(until: deadline)
        let cpuAtStart = Self.processCPUSeconds()
        for worker in workers { worker.begin(deadline: deadline) }
        await reportProgress(from: start, until: deadline)
        let cpuSeconds = Self.processCPUSeconds() - cpuAtStart
        let stats = await stopAll()
        return BenchSummary(
            settings: settings, stats: stats, seconds: Double(length) / 1_000_000_000,
            reorderedHandoffs: handoffs?.reordered ?? 0, cpuSeconds: cpuSeconds, events: events?.stop()
        )
    }

    /// Stops every worker at once (so none keeps cycling while another
    /// drains) and merges what they measured.
    private func stopAll() async -> RunStats {
        await withTaskGroup(of: RunStats.self) { group in
            for worker in workers { group.addTask { await worker.stop() } }
            return await group.reduce(into: RunStats()) { $0.merge($1) }
        }
    }

    /// Writes one line a second to stderr until `deadline`.
    private func reportProgress(from start: UInt64, until deadline: UInt64) async {
        var lastCycles = 0
        var lastTime = start
        while true {
            let now = MonotonicClock.now()
            guard now < deadline else { return }
            try? await Task.sleep(for: .nanoseconds(min(1_000_000_000, deadline - now)))
            let time = MonotonicClock.now()
            let cycles = live.cycles.load(ordering: .relaxed)
            let failures = live.failures.load(ordering: .relaxed)
            let rate = Double(cycles - lastCycles) / (Double(time - lastTime) / 1_000_000_000)
            let elapsed = Double(min(time, deadline) - start) / 1_000_000_000
            Self.progress(String(format: "[%5.1fs] %8.0f cycles/s, %d cycles, %d non-2xx or errors", elapsed, rate, cycles, failures))
            lastCycles = cycles
            lastTime = time
        }
    }

    /// User plus system CPU time this process has used so far.
    private static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let seconds = { (time: timeval) in Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    private static func progress(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
    }
}
