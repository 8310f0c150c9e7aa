import Foundation
import LockdTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Nothing a test starts may outlive it: a redis-server left behind keeps its
/// port and memory on a machine several test runs share. Checked by PID and
/// by what that PID runs, so a reused PID cannot pass for a leaked server.
@Suite(.serialized) struct RedisFixtureLifecycleTests {
    /// Set in the child test process of ``aServerDiesWithAKilledTestProcess()``:
    /// where the probe writes its server's PID and port.
    static let probeFile = ProcessInfo.processInfo.environment["LOCKD_TEST_ORPHAN_PROBE_FILE"]

    @Test func aStoppedServerIsGone() async throws {
        let redis = try await offThePool { try RedisServerFixture.start() }
        let pid = try #require(redis.pid)
        #expect(Self.runsRedisServer(pid: pid, port: redis.port))
        await offThePool { redis.stop() }
        #expect(redis.pid == nil)
        #expect(!Self.runsRedisServer(pid: pid, port: redis.port), "redis-server \(pid) still runs after stop()")
    }

    /// A test process killed mid-test (SIGKILL: no exit hook, no defer runs)
    /// takes its servers with it.
    @Test func aServerDiesWithAKilledTestProcess() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lockd-orphan-probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = directory.appendingPathComponent("server")
        var environment = ProcessInfo.processInfo.environment
        environment["LOCKD_TEST_ORPHAN_PROBE_FILE"] = report.path
        let probe = try ChildProcess(
            executable: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
            arguments: ["--testing-library", "swift-testing", "--filter", "RedisFixtureLifecycleTests/probeStartsAServerAndWaitsToBeKilled"],
            environment: environment, outputPath: directory.appendingPathComponent("probe.log").path, diesWithTestProcess: true)
        var server: (pid: pid_t, port: UInt16)?
        let reported = await eventually(within: .seconds(60), every: .milliseconds(20)) {
            server = Self.readReport(report)
            return server != nil || !probe.isRunning
        }
        guard reported, let (pid, port) = server else {
            await offThePool { probe.terminate(with: SIGKILL) }
            let log = (try? String(contentsOf: directory.appendingPathComponent("probe.log"), encoding: .utf8)) ?? ""
            Issue.record("the probe reported no server: \(log.suffix(1_500))")
            return
        }
        #expect(Self.runsRedisServer(pid: pid, port: port))
        await offThePool { probe.terminate(with: SIGKILL) }
        let gone = await eventually(within: .seconds(10)) { !Self.runsRedisServer(pid: pid, port: port) }
        #expect(gone, "redis-server \(pid) on \(port) outlived its killed test process")
        // Leave nothing behind even when the check fails.
        if !gone { kill(pid, SIGKILL) }
    }

    /// Runs only in the child test process that
    /// ``aServerDiesWithAKilledTestProcess()`` starts and then kills.
    @Test(.enabled(if: probeFile != nil))
    func probeStartsAServerAndWaitsToBeKilled() async throws {
        let file = try #require(Self.probeFile)
        let redis = try await offThePool { try RedisServerFixture.start() }
        defer { redis.stop() }
        let pid = try #require(redis.pid)
        let partial = file + ".partial"
        try "\(pid) \(redis.port)".write(toFile: partial, atomically: false, encoding: .utf8)
        #expect(rename(partial, file) == 0)
        // Bounded, so that a probe nobody kills still ends (and stops its server).
        _ = await eventually(within: .seconds(60), every: .milliseconds(100)) { false }
    }

    private static func readReport(_ file: URL) -> (pid: pid_t, port: UInt16)? {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count == 2, let pid = pid_t(fields[0]), let port = UInt16(fields[1]) else { return nil }
        return (pid, port)
    }

    /// Whether `pid` is a live redis-server on `port` (it names its address in
    /// its title); false for a gone PID, a zombie, or a PID reused by another program.
    static func runsRedisServer(pid: pid_t, port: UInt16) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let commandLine = String(decoding: data, as: UTF8.self)
        return commandLine.contains("redis-server") && commandLine.contains("127.0.0.1:\(port)")
    }
}
