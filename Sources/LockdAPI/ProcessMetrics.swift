#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` series of Prometheus client libraries, read
/// from the kernel at scrape time: CPU seconds, resident and virtual
/// memory, open and maximum file descriptors, start time.
enum ProcessMetrics {
    /// Appends the series in the text exposition format.
    static func emit(into text: inout String) {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let cpu = seconds(usage.ru_utime) + seconds(usage.ru_stime)
        ScrapeText.sample(&text, "process_cpu_seconds_total", type: "counter",
                          help: "Total user and system CPU time spent in seconds.", value: cpu)
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let statm = readFile("/proc/self/statm")?.split(separator: " "), statm.count >= 2,
           let virtualPages = Double(statm[0]), let residentPages = Double(statm[1]) {
            ScrapeText.sample(&text, "process_resident_memory_bytes", type: "gauge",
                              help: "Resident memory size in bytes.", value: residentPages * pageSize)
            ScrapeText.sample(&text, "process_virtual_memory_bytes", type: "gauge",
                              help: "Virtual memory size in bytes.", value: virtualPages * pageSize)
        }
        if let open = openFileDescriptors() {
            ScrapeText.sample(&text, "process_open_fds", type: "gauge", help: "Number of open file descriptors.", value: Double(open))
        }
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            ScrapeText.sample(&text, "process_max_fds", type: "gauge",
                              help: "Maximum number of open file descriptors.", value: Double(limit.rlim_cur))
        }
        if let start = startTime {
            ScrapeText.sample(&text, "process_start_time_seconds", type: "gauge",
                              help: "Start time of the process since unix epoch in seconds.", value: start)
        }
    }

    private static func seconds(_ value: timeval) -> Double {
        Double(value.tv_sec) + Double(value.tv_usec) / 1e6
    }

    /// Boot time (`btime` in /proc/stat) plus the process's start in clock
    /// ticks after boot (field 22 of /proc/self/stat); it never changes.
    private static let startTime: Double? = {
        guard let stat = readFile("/proc/self/stat"), let close = stat.lastIndex(of: ")"),
              let boot = readFile("/proc/stat")?.split(separator: "\n").first(where: { $0.hasPrefix("btime ") })
                  .flatMap({ Double($0.dropFirst(6)) })
        else { return nil }
        // After the command's closing parenthesis come fields 3, 4, …
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        return boot + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }()

    private static func openFileDescriptors() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != CChar(UInt8(ascii: ".")) { count += 1 }
        }
        // The directory's own descriptor, open while counting, is not the process's.
        return count - 1
    }

    /// A small file of /proc as text.
    private static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self).trimmingSuffix(while: { $0 == "\n" })
    }
}

extension String {
    fileprivate func trimmingSuffix(while isTrimmed: (Character) -> Bool) -> String {
        var text = self
        while let last = text.last, isTrimmed(last) { text.removeLast() }
        return text
    }
}
