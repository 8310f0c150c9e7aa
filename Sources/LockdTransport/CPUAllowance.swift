import CLockdSystem

#if canImport(Glibc)
import Glibc
#endif

/// How many CPUs this process may use: the CPUs of its affinity mask (what
/// `taskset` and `docker --cpuset-cpus` set), capped by its cgroup's CPU
/// quota (what a Kubernetes `cpu` limit or `docker --cpus` sets), rounded
/// up; at least 1. A pod limited to one CPU on a 64-core node gets 1, not 64
/// event loops that the quota would throttle.
///
/// ```swift
/// let loops = try EventLoopGroup(loopCount: CPUAllowance.current())
/// ```
public enum CPUAllowance {
    /// The CPUs this process may use now.
    public static func current() -> Int {
        let cpus = affinityCount() ?? System.coreCount
        guard let quota = cgroupQuota() else { return max(1, cpus) }
        return max(1, min(cpus, Int(quota.rounded(.up))))
    }

    /// CPUs in the calling thread's affinity mask (`sched_getaffinity`).
    static func affinityCount() -> Int? {
        let count = Int(clockd_affinity_count())
        return count > 0 ? count : nil
    }

    /// The tightest CPU quota, in CPUs, on the process's cgroup and its
    /// ancestors; nil when none is set.
    /// - Parameters:
    ///   - membership: the `/proc/self/cgroup` text.
    ///   - root: where the cgroup file systems are mounted.
    static func cgroupQuota(membership: String? = readSmallFile("/proc/self/cgroup"), root: String = "/sys/fs/cgroup") -> Double? {
        guard let membership else { return nil }
        var quotas: [Double] = []
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = String(fields[2])
            if fields[0] == "0", fields[1].isEmpty {
                // cgroup v2: cpu.max holds "QUOTA PERIOD" or "max PERIOD".
                for directory in ancestors(of: path, under: root) {
                    if let text = readSmallFile(directory + "/cpu.max"), let quota = v2Quota(text) { quotas.append(quota) }
                }
            } else if fields[1].split(separator: ",").contains("cpu") {
                // cgroup v1: the cpu controller's quota and period, in µs; -1 is none.
                let mount = ["\(root)/cpu,cpuacct", "\(root)/cpu"].first { readSmallFile($0 + "/cpu.cfs_period_us") != nil } ?? "\(root)/cpu"
                for directory in ancestors(of: path, under: mount) {
                    if let quota = readSmallFile(directory + "/cpu.cfs_quota_us"), let period = readSmallFile(directory + "/cpu.cfs_period_us"),
                       let cpus = v1Quota(quota: quota, period: period) {
                        quotas.append(cpus)
                    }
                }
            }
        }
        return quotas.min()
    }

    /// `"150000 100000"` → 1.5; `"max 100000"` → nil.
    static func v2Quota(_ text: String) -> Double? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, let quota = Double(fields[0]), let period = Double(fields[1]), quota > 0, period > 0 else { return nil }
        return quota / period
    }

    /// `quota` `"50000"` over `period` `"100000"` → 0.5; a quota of -1 → nil.
    static func v1Quota(quota: String, period: String) -> Double? {
        guard let quota = Double(quota.filter { $0 != "\n" }), let period = Double(period.filter { $0 != "\n" }),
              quota > 0, period > 0 else { return nil }
        return quota / period
    }

    /// `root/a/b/c`, `root/a/b`, `root/a`, `root` for the path `/a/b/c`.
    static func ancestors(of path: String, under root: String) -> [String] {
        var parts = path.split(separator: "/").map(String.init)
        var directories: [String] = []
        while true {
            directories.append(([root] + parts).joined(separator: "/"))
            guard !parts.isEmpty else { return directories }
            parts.removeLast()
        }
    }

    /// A small file's text, or nil when it cannot be read.
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}
