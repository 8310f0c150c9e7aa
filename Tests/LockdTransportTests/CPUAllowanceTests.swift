import Foundation
import Testing

@testable import LockdTransport

/// The default number of event loops: the affinity mask, capped by the
/// cgroup CPU quota (v2 and v1, up the hierarchy), rounded up.
@Suite struct CPUAllowanceTests {
    @Test func quotasAreReadAsCPUs() {
        #expect(CPUAllowance.v2Quota("150000 100000\n") == 1.5)
        #expect(CPUAllowance.v2Quota("max 100000\n") == nil)
        #expect(CPUAllowance.v1Quota(quota: "50000\n", period: "100000\n") == 0.5)
        #expect(CPUAllowance.v1Quota(quota: "-1\n", period: "100000\n") == nil)
        #expect(CPUAllowance.ancestors(of: "/a/b", under: "/r") == ["/r/a/b", "/r/a", "/r"])
        #expect(CPUAllowance.ancestors(of: "/", under: "/r") == ["/r"])
    }

    @Test func theTightestQuotaOnTheCgroupOrItsAncestorsCounts() throws {
        let root = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // v2: the pod's own cgroup allows 4 CPUs, its parent 1.5.
        try Self.write("\(root)/kubepods/cpu.max", "150000 100000\n")
        try Self.write("\(root)/kubepods/pod1/cpu.max", "400000 100000\n")
        #expect(CPUAllowance.cgroupQuota(membership: "0::/kubepods/pod1\n", root: root) == 1.5)
        #expect(CPUAllowance.cgroupQuota(membership: "0::/elsewhere\n", root: root) == nil)
        // v1: the cpu controller's mount, quota -1 meaning none.
        try Self.write("\(root)/cpu,cpuacct/docker/c1/cpu.cfs_quota_us", "200000\n")
        try Self.write("\(root)/cpu,cpuacct/docker/c1/cpu.cfs_period_us", "100000\n")
        try Self.write("\(root)/cpu,cpuacct/cpu.cfs_quota_us", "-1\n")
        try Self.write("\(root)/cpu,cpuacct/cpu.cfs_period_us", "100000\n")
        #expect(CPUAllowance.cgroupQuota(membership: "4:memory:/x\n2:cpu,cpuacct:/docker/c1\n", root: root) == 2)
    }

    @Test func theAllowanceIsAtLeastOneAndAtMostTheAffinityMask() {
        let affinity = CPUAllowance.affinityCount()
        #expect(affinity != nil && affinity! >= 1)
        #expect((1...(affinity ?? 1)).contains(CPUAllowance.current()))
        #expect(EventLoopGroup.defaultLoopCount == CPUAllowance.current())
    }

    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lockd-cgroup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
