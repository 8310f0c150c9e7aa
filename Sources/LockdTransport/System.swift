#if canImport(Glibc)
import Glibc
#endif

/// Facts about the host that the transport sizes itself by.
public enum System {
    /// The number of online cores, at least 1.
    public static var coreCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
