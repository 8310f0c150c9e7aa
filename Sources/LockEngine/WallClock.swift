#if canImport(Glibc)
import Glibc
#endif

/// The system's real-time clock, for stores that keep their own time.
enum WallClock {
    /// Microseconds since the Unix epoch.
    static func microseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1_000
    }

    /// Milliseconds since the Unix epoch.
    static func milliseconds() -> Int64 { microseconds() / 1_000 }
}
