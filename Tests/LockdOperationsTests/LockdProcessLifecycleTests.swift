import Foundation
import LockdTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Nothing a test starts may outlive it — a lockd left behind keeps its port,
/// a `lockd exec` its lock and its command — and a killed test run's scratch
/// directories go with the next run. As ``RedisFixtureLifecycleTests`` for
/// redis-server: each process is checked by PID and by a marker in its
/// environment, so a reused PID cannot pass for a leaked child.
@Suite(.serialized) struct LockdProcessLifecycleTests {
    /// Set in the child test process of ``lockdAndExecDieWithAKilledTestProcess()``:
    /// where the probe writes what it started.
    static let probeFile = ProcessInfo.processInfo.environment["LOCKD_TEST_LOCKD_PROBE_FILE"]

    @Test func aStoppedLockdIsGone() async throws {
        let marker = UUID().uuidString
        let lockd = try await LockdProcess.start([], environment: ["TEST_PROBE_MARKER": marker])
        let pid = lockd.process.pid
        #expect(Self.runs(pid: pid, marker: marker))
        await lockd.stop()
        #expect(!Self.runs(pid: pid, marker: marker), "lockd \(pid) still runs after stop()")
    }

    /// A test process killed mid-test (SIGKILL: no exit hook, no defer runs)
    /// takes its lockd, its `lockd exec` and the command that runs with it;
    /// the directories it made are removed by the next sweep.
    @Test func lockdAndExecDieWithAKilledTestProcess() async throws {
        let directory = try ScratchDirectory.make("lockd-lifecycle-probe")
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = directory.appendingPathComponent("report")
        var environment = ProcessInfo.processInfo.environment
        environment["LOCKD_TEST_LOCKD_PROBE_FILE"] = report.path
        let probe = try ChildProcess(
            executable: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
            arguments: ["--testing-library", "swift-testing", "--filter", "LockdProcessLifecycleTests/probeStartsLockdAndExecAndWaitsToBeKilled"],
            environment: environment, outputPath: directory.appendingPathComponent("probe.log").path, diesWithTestProcess: true)
        var started: ProbeReport?
        let reported = await eventually(within: .seconds(60), every: .milliseconds(20)) {
            started = ProbeReport(file: report)
            return started != nil || !probe.isRunning
        }
        guard reported, let started else {
            await offThePool { probe.terminate(with: SIGKILL) }
            let log = (try? String(contentsOf: directory.appendingPathComponent("probe.log"), encoding: .utf8)) ?? ""
            Issue.record("the probe reported nothing: \(log.suffix(1_500))")
            return
        }
        for (what, pid) in started.children {
            #expect(Self.runs(pid: pid, marker: started.marker), "\(what) \(pid) was not running before the kill")
        }
        #expect(started.directories.allSatisfy { FileManager.default.fileExists(atPath: $0) })

        await offThePool { probe.terminate(with: SIGKILL) }
        let gone = await eventually(within: .seconds(10)) {
            started.children.allSatisfy { !Self.runs(pid: $0.pid, marker: started.marker) }
        }
        let survivors = started.children.filter { Self.runs(pid: $0.pid, marker: started.marker) }
        #expect(gone, "outlived their killed test process: \(survivors)")
        // Leave nothing behind even when the check fails.
        for (_, pid) in survivors { kill(pid, SIGKILL) }

        ScratchDirectory.sweep()
        let left = started.directories.filter { FileManager.default.fileExists(atPath: $0) }
        #expect(left.isEmpty, "a dead test process's directories survived a sweep: \(left)")
    }

    /// Runs only in the child test process that
    /// ``lockdAndExecDieWithAKilledTestProcess()`` starts and then kills.
    @Test(.enabled(if: probeFile != nil))
    func probeStartsLockdAndExecAndWaitsToBeKilled() async throws {
        let file = try #require(Self.probeFile)
        let marker = UUID().uuidString
        let lockd = try await LockdProcess.start([], environment: ["TEST_PROBE_MARKER": marker])
        let cli = try LockdCLI(server: lockd.url)
        let exec = try cli.start(["exec", uniqueLockName("probe"), "--", "sh", "-c", cli.holdUntilGo(traps: "echo $$ > '\(cli.marker("command"))';")],
                                 environment: ["TEST_PROBE_MARKER": marker])
        let running = await eventually(within: .seconds(30)) { cli.exists("started") }
        try #require(running, "lockd exec's command never started: \(exec.stderr)")
        let command = cli.read("command").trimmingCharacters(in: .whitespacesAndNewlines)
        let text = """
            \(marker)
            lockd \(lockd.process.pid)
            exec \(exec.process.pid)
            command \(command)
            directory \(lockd.directory.path)
            directory \(cli.directory)

            """
        let partial = file + ".partial"
        try text.write(toFile: partial, atomically: false, encoding: .utf8)
        #expect(rename(partial, file) == 0)
        // Bounded, so that a probe nobody kills still ends (and stops its children).
        _ = await eventually(within: .seconds(60), every: .milliseconds(100)) { false }
        try? "".write(toFile: cli.marker("go"), atomically: false, encoding: .utf8)
        _ = try await exec.finish()
        await lockd.stop()
    }

    /// What the probe started.
    struct ProbeReport {
        let marker: String
        let children: [(what: String, pid: pid_t)]
        let directories: [String]

        init?(file: URL) {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
            let lines = text.split(separator: "\n")
            guard let marker = lines.first else { return nil }
            var children: [(String, pid_t)] = []
            var directories: [String] = []
            for line in lines.dropFirst() {
                let fields = line.split(separator: " ", maxSplits: 1).map(String.init)
                guard fields.count == 2 else { return nil }
                if fields[0] == "directory" {
                    directories.append(fields[1])
                } else if let pid = pid_t(fields[1]) {
                    children.append((fields[0], pid))
                } else {
                    return nil
                }
            }
            guard children.count == 3, directories.count == 2 else { return nil }
            self.marker = String(marker)
            self.children = children
            self.directories = directories
        }
    }

    /// Whether `pid` is a live process whose environment carries `marker`
    /// (false for a gone PID, a zombie, or a PID reused by another program).
    static func runs(pid: pid_t, marker: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
        return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "TEST_PROBE_MARKER=\(marker)" }
    }
}
