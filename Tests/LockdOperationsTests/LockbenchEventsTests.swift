import Foundation
import LockdTestSupport
import Testing

/// lockbench's `--event-streams`: streams held open beside the cycle count
/// the run's events and their delivery latency.
@Suite struct LockbenchEventsTests {
    @Test func eventStreamsBesideTheCycleReportEventsAndLatency() async throws {
        let lockd = try await LockdProcess.start([])
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("lockbench-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let bench = try ChildProcess(
            executable: try LockdProcess.builtExecutable("lockbench"),
            arguments: ["--url", "http://127.0.0.1:\(lockd.port)", "--clients", "2", "--duration", "1s", "--event-streams", "3", "--json"],
            outputPath: outputPath, diesWithTestProcess: true)
        let termination = await offThePool { bench.waitForExit(timeout: .seconds(30)) }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        #expect(termination == .exited(0), "\(output)")
        let json = lockbenchSummary(in: output)
        let cycles = json["cycles"] as? Int ?? 0
        let events = json["events"] as? [String: Any] ?? [:]
        #expect(cycles > 0, "\(output)")
        #expect(events["streams"] as? Int == 3, "\(output)")
        #expect(events["ended"] as? Int == 0, "\(output)")
        // Each cycle is an acquired and a released event on each of the three
        // streams; a few at the window's edges may fall outside it.
        let received = events["events"] as? Int ?? 0
        #expect(received > 0 && received >= cycles * 6 / 2, "\(received) events for \(cycles) cycles: \(output)")
        let latency = events["latency_ms"] as? [String: Any] ?? [:]
        #expect(latency["count"] as? Int == received)
        await lockd.stop()
    }
}

/// lockbench's `--json` summary among the progress lines written to the same file.
func lockbenchSummary(in output: String) -> [String: Any] {
    let summary = output.firstIndex(of: "{").flatMap { start in
        output.lastIndex(of: "}").map { Data(output[start...$0].utf8) }
    } ?? Data()
    return (try? JSONSerialization.jsonObject(with: summary)) as? [String: Any] ?? [:]
}
