#if canImport(Glibc)
import Glibc

/// The glibc malloc setting the server runs with: a per-thread cache of 64
/// freed blocks per size instead of 7 (`glibc.malloc.tcache_count`).
///
/// Why: a loop thread has dozens of requests in flight, each with its task's
/// frames and buffers, so with 7 most freed blocks overflow the thread's
/// cache into the arena's bins, where each later malloc sorts and splits
/// chunks (`_int_malloc`, `unlink_chunk`, `malloc_consolidate`) — work that
/// grows with the holes long-lived allocations (idle event streams, idle
/// connections) leave among the requests' blocks. `perf` showed exactly that
/// work growing with 1 000 idle event streams open. With 64 the requests'
/// churn stays in the thread's cache. Measured with benchmarks/events/run.py
/// (interleaved, fresh lockd per run, see RESULTS.md): lockd's CPU per lock
/// cycle with 1 000 idle streams ÷ without went from 1.18 to 1.01 (medians),
/// the cycle rate ratio from 0.81 to 1.01. Cost: a thread's cache may hold
/// up to 64 blocks of each size up to 1 KiB (≤ ~2 MiB per thread, far less
/// in practice).
///
/// glibc reads tunables only as a process starts (`mallopt` has no such
/// setting), so the server runs itself again with the tunable added to
/// `GLIBC_TUNABLES` — once: same PID, arguments and descriptors. An
/// operator's own `glibc.malloc.tcache_count` in `GLIBC_TUNABLES` wins (set
/// it to 7 for glibc's default).
enum MallocTuning {
    static let tunable = "glibc.malloc.tcache_count=64"
    /// Set before running again, so a glibc that drops the tunable (a
    /// set-uid start) cannot make it loop.
    static let marker = "LOCKD_MALLOC_TUNED"

    /// Runs this executable again with ``tunable`` unless it already runs
    /// with it (or with the operator's own count); returns only if it does
    /// not run again (then nothing changed).
    static func runAgainIfUntuned() {
        guard getenv(marker) == nil else { return }
        let current = getenv("GLIBC_TUNABLES").map { String(cString: $0) } ?? ""
        guard !current.contains("glibc.malloc.tcache_count") else { return }
        setenv(marker, "1", 1)
        setenv("GLIBC_TUNABLES", current.isEmpty ? tunable : current + ":" + tunable, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Not run again (no /proc, say): carry on as before.
        if current.isEmpty { unsetenv("GLIBC_TUNABLES") } else { setenv("GLIBC_TUNABLES", current, 1) }
    }
}
#endif
