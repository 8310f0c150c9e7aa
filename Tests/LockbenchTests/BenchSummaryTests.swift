import Foundation
import Testing

@testable import LockbenchCore

@Suite struct BenchSummaryTests {
    private func settings(contended: Bool) -> BenchSettings {
        BenchSettings(url: "http://127.0.0.1:7070", clients: 64, names: contended ? 4 : 64, contended: contended,
                      threads: 1, duration: 2, ttlMs: 30_000, waitMs: contended ? 5_000 : 0, namePrefix: "b:r:")
    }

    private func stats() -> RunStats {
        var stats = RunStats()
        for value in 1...1000 {
            _ = stats.acquireLatency.record(UInt64(value) * 1_000)  // 1 µs … 1 ms
            _ = stats.releaseLatency.record(500_000)
            _ = stats.handoffLatency.record(200_000)
            stats.acquire.count(201, successes: 200...201)
            stats.release.count(204, successes: 204...204)
        }
        stats.acquire.count(409, successes: 200...201)
        stats.release.count(503, successes: 204...204)
        stats.cycles = 1000
        stats.errors.timeout = 2
        return stats
    }

    @Test func computesRatesAndPercentilesInMilliseconds() {
        let summary = BenchSummary(settings: settings(contended: true), stats: stats(), seconds: 2, reorderedHandoffs: 3)
        #expect(summary.cyclesPerSecond == 500)
        #expect(abs(summary.acquire.latencyMs.p50 - 0.5) < 0.001)
        #expect(abs(summary.acquire.latencyMs.p99 - 0.99) < 0.001)
        #expect(abs(summary.acquire.latencyMs.max - 1.0) < 0.001)
        #expect(summary.acquire.statuses.conflict == 1)
        #expect(summary.release.statuses.unavailable == 1)
        #expect(summary.handoff?.perSecond == 500)
        #expect(summary.handoff?.reordered == 3)
        #expect(summary.errors.total == 2)
    }

    @Test func reportsHandoffsOnlyForContendedRuns() {
        let summary = BenchSummary(settings: settings(contended: false), stats: stats(), seconds: 2, reorderedHandoffs: 0)
        #expect(summary.handoff == nil)
        #expect(!summary.text().contains("handoff"))
    }

    @Test func warnsWhenLockbenchItselfIsSaturated() {
        let busy = BenchSummary(settings: settings(contended: false), stats: stats(), seconds: 2, reorderedHandoffs: 0, cpuSeconds: 1.9)
        #expect(busy.lockbenchCpuPercent == 95)
        #expect(busy.text().contains("try --threads 2"))
        let idle = BenchSummary(settings: settings(contended: false), stats: stats(), seconds: 2, reorderedHandoffs: 0, cpuSeconds: 0.2)
        #expect(!idle.text().contains("warning"))
    }

    @Test func mergingAddsCountsAndHistograms() {
        var merged = stats()
        merged.merge(stats())
        #expect(merged.cycles == 2000)
        #expect(merged.acquireLatency.totalCount == 2000)
        #expect(merged.acquire.success == 2000)
        #expect(merged.errors.timeout == 4)
    }

    @Test func jsonUsesSnakeCaseAndRoundTrips() throws {
        let summary = BenchSummary(settings: settings(contended: true), stats: stats(), seconds: 2, reorderedHandoffs: 0)
        let json = summary.json()
        #expect(json.contains("\"cycles_per_second\""))
        #expect(json.contains("\"latency_ms\""))
        #expect(json.contains("\"lockbench_cpu_percent\""))  // benchmarks/locks/report.py reads these keys
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        #expect(try decoder.decode(BenchSummary.self, from: Data(json.utf8)) == summary)
    }
}
