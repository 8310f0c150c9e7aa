import Foundation
import LockdTestSupport
import Testing

/// Sizing is explicit: lockd runs one event loop per CPU it may use (its
/// affinity mask and cgroup quota), and `--event-loops` says otherwise.
@Suite struct SizingTests {
    @Test func underTasksetOnOneCPULockdRunsOneEventLoop() async throws {
        let lockd = try await LockdProcess.start([], launcher: ["/usr/bin/taskset", "-c", "0"])
        let loops = lockd.threadNames.filter { $0.hasPrefix("lockd-loop-") }
        #expect(loops == ["lockd-loop-0"], "\(lockd.threadNames)")
        #expect(try await lockd.request("POST", "/locks/\(uniqueLockName())").status == 201)
        await lockd.stop()
    }
}
